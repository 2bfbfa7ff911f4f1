//! Wagtail's side of a drop-in deployment: the serve view's signatures, the
//! image table that turns an image id into an original, and the geometry of
//! Wagtail images planned without pixels (`POST /v1/plan`).

pub mod images;
pub mod planning;
pub mod signature;

pub use self::images::{DEFAULT_TABLE, DatabaseError, ImageTable, WagtailImage, is_plain_identifier};
pub use self::planning::{PlanItem, PlanReply, json_number, named_version, plan_items};
pub use self::signature::WagtailSigner;

/// The Wagtail site renditiond stands in for on `/images/`.
#[derive(Debug)]
pub struct WagtailSite {
    /// Its serve-view signatures.
    pub signer: WagtailSigner,
    /// Its image table.
    pub images: ImageTable,
}
