//! The Salesforce port on the real Salesforce REST API, authenticated with the OAuth 2.0 JWT bearer flow.
