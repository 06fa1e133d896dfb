//! Issue 11: one ACE write quota for the whole deployment, shared across processes through
//! DynamoDB (moto's, through the real aws-sdk-dynamodb client), spent by priority and within
//! the daily cap.

mod lanes;
mod processes;
mod shared_store;
