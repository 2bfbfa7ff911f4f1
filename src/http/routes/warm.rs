//! `POST /v1/warm`: renders what is not cached yet of Wagtail images (by
//! id) or originals (by key), for each a list of specs, so the first
//! visitors find them cached. Behind the API token, as `/v1/plan`.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use futures_util::stream::{self, StreamExt};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use std::sync::Arc;

use crate::format::OutputFormat;
use crate::http::error::HttpError;
use crate::plan::{Accept, NEGOTIABLE};
use crate::renditions::{RenditionError, Request, Warmed};
use crate::state::AppState;
use crate::wagtail::{WagtailImage, json_number};

/// The most items one request may hold.
pub const MAX_ITEMS: usize = 100;

/// The most specs one item may hold.
pub const MAX_SPECS: usize = 50;

/// The most bytes of a request body.
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// One original and the specs to warm of it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WarmItem {
    /// A Wagtail image id.
    image_id: Option<i64>,
    /// The image's version as the site knows it (with an image id): a
    /// cached row of another version is read again.
    version: Option<String>,
    /// Or an original's storage key (as in `/r/` URLs).
    key: Option<String>,
    /// The filter specs.
    specs: Vec<String>,
    /// Formats of `RENDITIOND_FORMAT_NEGOTIATION` to warm too, as browsers
    /// that take them get them (the default format is always warmed).
    #[serde(default)]
    formats: Vec<String>,
}

/// What became of one item.
#[derive(Debug, Serialize)]
#[serde(untagged)]
enum ItemReply {
    /// Each spec's outcome, in order.
    Warmed { renditions: Vec<SpecReply> },
    /// Why nothing of the item could be warmed.
    Failed { error: String },
}

/// What became of one spec.
#[derive(Debug, Serialize)]
#[serde(untagged)]
enum SpecReply {
    /// In the caches now.
    Done {
        spec: String,
        format: &'static str,
        /// `rendered` or `cached`.
        status: &'static str,
        /// The rendition's size, where the original's headers tell it.
        #[serde(skip_serializing_if = "Option::is_none")]
        width: Option<Value>,
        #[serde(skip_serializing_if = "Option::is_none")]
        height: Option<Value>,
    },
    /// Why not.
    Failed { spec: String, error: String },
}

/// The handler: items run side by side, as many at once as there are workers.
pub async fn post(
    request: HttpRequest,
    body: Result<web::Bytes, actix_web::Error>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, HttpError> {
    super::authorize(&request, &state)?;
    let items: Vec<WarmItem> = super::json_items(body, MAX_ITEMS)?;
    if items.iter().any(|item| item.specs.len() > MAX_SPECS) {
        return Err(HttpError::TooManyItems);
    }
    let negotiated = &state.renditions.output().negotiation;
    for item in &items {
        if let Some(name) = item
            .formats
            .iter()
            .find(|name| !negotiated.iter().any(|f| f.name() == name.as_str()))
        {
            return Err(HttpError::BadBody(format!("{name:?} is not a negotiated format")));
        }
    }
    let state = state.into_inner();
    // As many renders at once as there are workers: the specs of an item
    // side by side, and as many items as that leaves room for.
    let workers = state.renditions.workers().max(1);
    let per_item = items
        .iter()
        .map(|i| i.specs.len() * (1 + i.formats.len().min(NEGOTIABLE.len())))
        .max()
        .unwrap_or(1)
        .clamp(1, workers);
    let replies: Vec<ItemReply> = stream::iter(items)
        .map(|item| warm_item(state.clone(), item, per_item))
        .buffered(workers / per_item)
        .collect()
        .await;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(replies))
}

/// Warms one item's specs, `parallel` at a time.
async fn warm_item(state: Arc<AppState>, item: WarmItem, parallel: usize) -> ItemReply {
    let image = match (item.image_id, &item.key) {
        (Some(id), None) => match wagtail_image(&state, id, item.version.as_deref()).await {
            Ok(image) => Some(image),
            Err(error) => return failed(error),
        },
        (None, Some(_)) => None,
        _ => {
            return ItemReply::Failed {
                error: "An item needs image_id or key".into(),
            };
        }
    };
    let limits = &state.spec_limits;
    let formats: Vec<OutputFormat> = NEGOTIABLE
        .into_iter()
        .filter(|f| item.formats.iter().any(|name| name == f.name()))
        .collect();
    let mut requests = Vec::with_capacity(item.specs.len() * (1 + formats.len()));
    let mut replies: Vec<(usize, SpecReply)> = Vec::with_capacity(item.specs.len());
    for (i, spec) in item.specs.iter().enumerate() {
        let made = match (&image, &item.key) {
            (Some(image), _) => {
                Request::for_wagtail_image(spec, &image.file, image.focal_point, &image.file_hash, limits)
            }
            (None, Some(key)) => Request::parse(spec, key, limits),
            (None, None) => continue,
        };
        match made {
            Ok(request) => {
                // The default, then each format as a browser that takes
                // only that one asks for it.
                let variants = formats
                    .iter()
                    .map(|format| request.clone().accepting(Accept::parse([format.mime_type()])))
                    .collect::<Vec<_>>();
                requests.extend(std::iter::once(request).chain(variants).map(|r| (i, r)));
            }
            Err(error) => replies.push((i, spec_failed(spec.clone(), error.into()))),
        }
    }
    let (indexes, requests): (Vec<usize>, Vec<Request>) = requests.into_iter().unzip();
    let warmed = state.renditions.warm(requests, parallel).await;
    let mut done: Vec<(usize, OutputFormat)> = Vec::new();
    for (i, answer) in indexes.into_iter().zip(warmed) {
        let spec = item.specs[i].clone();
        let reply = match answer {
            // A spec whose format is not negotiated is one rendition.
            Ok((resolved, _)) if done.contains(&(i, resolved.format)) => continue,
            Ok((resolved, how)) => {
                done.push((i, resolved.format));
                let size = state.renditions.planned_size(&resolved);
                SpecReply::Done {
                    spec,
                    format: resolved.format.name(),
                    status: match how {
                        Warmed::Cached => "cached",
                        Warmed::Rendered => "rendered",
                    },
                    width: size.map(|s| json_number(s.width)),
                    height: size.map(|s| json_number(s.height)),
                }
            }
            Err(_)
                if replies
                    .iter()
                    .any(|(j, r)| *j == i && matches!(r, SpecReply::Failed { .. })) =>
            {
                continue;
            }
            Err(RenditionError::NotFound(key)) if image.is_some() => spec_failed(spec, HttpError::SourceMissing(key)),
            Err(error) => spec_failed(spec, error.into()),
        };
        replies.push((i, reply));
    }
    replies.sort_by_key(|(i, _)| *i);
    ItemReply::Warmed {
        renditions: replies.into_iter().map(|(_, r)| r).collect(),
    }
}

/// The row of Wagtail image `id`, read again if it is not of `version`.
async fn wagtail_image(state: &AppState, id: i64, version: Option<&str>) -> Result<Arc<WagtailImage>, HttpError> {
    let site = state.wagtail.as_ref().ok_or(HttpError::NoRoute)?;
    site.images.find_current(id, version).await?.ok_or(HttpError::NoImage)
}

fn failed(error: HttpError) -> ItemReply {
    tracing::info!(error = ?error, "an item to warm failed");
    ItemReply::Failed {
        error: error.public_message().into_owned(),
    }
}

fn spec_failed(spec: String, error: HttpError) -> SpecReply {
    tracing::info!(error = ?error, spec, "a rendition to warm failed");
    SpecReply::Failed {
        spec,
        error: error.public_message().into_owned(),
    }
}
