//! Faithful local stand-ins for the two services ace-sync talks to, on the wire: the product
//! uses them for its embedded demo and its tests, and users can run them on their own
//! (`ace-sync sandbox …`). Nothing in the sync itself imports them.

pub mod partner_central;
pub mod salesforce;
