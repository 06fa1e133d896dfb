//! A local AWS Partner Central Selling API (awsJson1_0), driven by AWS's service model.
