//! A local Salesforce org: OAuth JWT bearer, REST, and outbound messages.
