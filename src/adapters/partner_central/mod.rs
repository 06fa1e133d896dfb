//! The Partner Central port on `aws-sdk-partnercentralselling`.
