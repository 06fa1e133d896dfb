//! Table tests of the plan.

use super::*;
