//! Accept negotiation: which of the formats a site lets renditiond pick
//! instead of a spec's default output a client gets, from its `Accept`
//! header (RFC 9110 §12.5.1). Pure: the HTTP layer hands over the header's
//! text.

use crate::format::OutputFormat;
use crate::plan::output::{self, Encoding};
use crate::plan::{Compression, Output};
use crate::spec::Operation;

/// Media ranges read from one request's `Accept`; the rest are ignored.
const MAX_RANGES: usize = 64;
/// Parameters read from one media range; the rest are ignored.
const MAX_PARAMETERS: usize = 8;
/// The formats negotiation may pick.
pub const NEGOTIABLE: [OutputFormat; 2] = [OutputFormat::Avif, OutputFormat::Webp];

/// A media range that can match an output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Range {
    /// `image/webp` and the like.
    Format(OutputFormat),
    /// `image/*`.
    Image,
    /// `*/*`.
    Any,
}

/// A client's `Accept` header, reduced to the media ranges that can match
/// an image format, each with its quality in thousandths.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Accept {
    /// Whether the request had an `Accept` header at all.
    present: bool,
    ranges: Vec<(Range, u16)>,
}

impl Accept {
    /// Reads the values of a request's `Accept` headers (several are read as
    /// one list). Ranges that do not parse, including those with a bad
    /// `q`, are ignored, as RFC 9110 allows; so is everything past the first
    /// 64 ranges.
    pub fn parse<'a>(values: impl IntoIterator<Item = &'a str>) -> Self {
        let mut accept = Self::default();
        let mut read = 0;
        for value in values {
            accept.present = true;
            for item in value.split(',') {
                if read == MAX_RANGES {
                    return accept;
                }
                read += 1;
                if let Some(range) = parse_range(item) {
                    accept.ranges.push(range);
                }
            }
        }
        accept
    }

    /// The quality the client gives `format` (thousandths) and whether it
    /// names the format itself: the most specific range that matches wins
    /// (`image/webp` over `image/*` over `*/*`); without an `Accept` header
    /// every format is acceptable.
    fn quality(&self, format: OutputFormat) -> (u16, bool) {
        if !self.present {
            return (1000, false);
        }
        let best = |wanted: Range| {
            self.ranges
                .iter()
                .filter(|(range, _)| *range == wanted)
                .map(|&(_, q)| q)
                .max()
        };
        if let Some(q) = best(Range::Format(format)) {
            return (q, true);
        }
        (best(Range::Image).or_else(|| best(Range::Any)).unwrap_or(0), false)
    }
}

/// One media range: `type/subtype` and its `q`, `None` when it cannot match
/// an image format or does not parse.
fn parse_range(item: &str) -> Option<(Range, u16)> {
    let mut parts = item.split(';');
    let media = parts.next()?.trim();
    let range = if media == "*/*" {
        Range::Any
    } else if media.eq_ignore_ascii_case("image/*") {
        Range::Image
    } else {
        let format = NEGOTIABLE
            .into_iter()
            .chain([OutputFormat::Jpeg, OutputFormat::Png, OutputFormat::Gif])
            .find(|f| f.mime_type().eq_ignore_ascii_case(media))?;
        Range::Format(format)
    };
    let mut q = 1000;
    for parameter in parts.take(MAX_PARAMETERS) {
        let (name, value) = parameter.split_once('=')?;
        if name.trim().eq_ignore_ascii_case("q") {
            q = parse_q(value.trim())?;
        }
    }
    Some((range, q))
}

/// A `qvalue` (`0`, `0.8`, `1.000`) in thousandths.
fn parse_q(text: &str) -> Option<u16> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if fraction.len() > 3 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let thousandths = fraction.bytes().chain(std::iter::repeat(b'0')).take(3);
    let fraction = thousandths.fold(0u16, |n, b| n * 10 + u16::from(b - b'0'));
    match whole {
        "0" => Some(fraction),
        "1" if fraction == 0 => Some(1000),
        _ => None,
    }
}

/// The encoding a client gets, and whether the answer varies with `Accept`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Negotiated {
    /// The encoding picked: the default, or one of the site's formats.
    pub encoding: Encoding,
    /// Whether another `Accept` could have picked another encoding: every
    /// response then says `Vary: Accept`.
    pub varies: bool,
}

/// Picks the encoding for a client that sent `accept`, when the spec leaves
/// the output to its default.
///
/// Only a lossy default (JPEG, lossy WebP or AVIF) is negotiated, and only
/// when the spec has no `format-*`. The pick is the site's format the client
/// names with the highest `q` (the site's order breaks ties); a format only
/// a wildcard covers is never picked, since clients that send `*/*` alone
/// often cannot show AVIF or WebP. The default stays when the client gives
/// it a higher `q` than the pick. The picked format keeps the spec's own
/// quality option for it (`webpquality-*`, `avifquality-*`), else the site's
/// quality for that format; `jpegquality-*` applies to JPEG only.
pub fn negotiate(default: Encoding, operations: &[Operation], accept: &Accept, output: &Output) -> Negotiated {
    let lossy_default = matches!(
        default,
        Encoding::Jpeg { .. } | Encoding::Webp(Compression::Lossy(_)) | Encoding::Avif(Compression::Lossy(_))
    );
    let explicit = operations.iter().any(|op| matches!(op, Operation::Format(_)));
    if output.negotiation.is_empty() || explicit || !lossy_default {
        return Negotiated {
            encoding: default,
            varies: false,
        };
    }
    let mut pick: Option<(OutputFormat, u16)> = None;
    for &format in &output.negotiation {
        let (q, named) = accept.quality(format);
        if named && q > 0 && pick.is_none_or(|(_, best)| q > best) {
            pick = Some((format, q));
        }
    }
    let encoding = match pick {
        Some((format, q)) if format != default.format() && q >= accept.quality(default.format()).0 => {
            output::lossy(format, operations, output)
        }
        _ => default,
    };
    Negotiated { encoding, varies: true }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{FilterSpec, SourceKind};

    fn site(formats: &[OutputFormat]) -> Output {
        Output {
            negotiation: formats.to_vec(),
            ..Output::default()
        }
    }

    fn ops(spec: &str) -> Vec<Operation> {
        let spec = FilterSpec::parse(spec).expect("a spec");
        spec.clean(SourceKind::Raster).expect("a raster spec").operations
    }

    const JPEG: Encoding = Encoding::Jpeg { quality: 76 };
    const AVIF_WEBP: [OutputFormat; 2] = [OutputFormat::Avif, OutputFormat::Webp];

    fn pick(accept: &str, default: Encoding, spec: &str, output: &Output) -> Negotiated {
        negotiate(default, &ops(spec), &Accept::parse([accept]), output)
    }

    fn picked(accept: &str) -> OutputFormat {
        pick(accept, JPEG, "width-100", &site(&AVIF_WEBP)).encoding.format()
    }

    #[test]
    fn browsers_get_the_first_format_they_name() {
        use OutputFormat::{Avif, Jpeg, Webp};
        // Chrome, Firefox, Safari 17, an old Firefox, curl, nothing at all.
        assert_eq!(
            picked("image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8"),
            Avif
        );
        assert_eq!(picked("image/avif,image/webp,*/*"), Avif);
        assert_eq!(
            picked(
                "image/webp,image/avif,image/jxl,image/heic,image/heic-sequence,video/*;q=0.8,image/png,image/svg+xml,image/*;q=0.8,*/*;q=0.5"
            ),
            Avif
        );
        assert_eq!(picked("image/webp,*/*"), Webp);
        assert_eq!(picked("*/*"), Jpeg);
        assert_eq!(
            negotiate(JPEG, &ops("width-100"), &Accept::default(), &site(&AVIF_WEBP)).encoding,
            JPEG
        );
    }

    #[test]
    fn q_values_rank_and_exclude() {
        use OutputFormat::{Avif, Jpeg, Webp};
        assert_eq!(picked("image/avif;q=0.5, image/webp;q=0.9"), Webp);
        assert_eq!(
            picked("image/avif;q=0.9, image/webp;q=0.9"),
            Avif,
            "ties: the site's order"
        );
        assert_eq!(picked("image/avif;q=0, image/webp"), Webp);
        assert_eq!(picked("image/avif;q=0, image/webp;q=0.000, image/*"), Jpeg);
        // The client prefers JPEG itself, or through a wildcard.
        assert_eq!(picked("image/jpeg, image/webp;q=0.5"), Jpeg);
        assert_eq!(picked("*/*, image/webp;q=0.5"), Jpeg);
        assert_eq!(picked("image/webp;q=0.5, image/jpeg;q=0.4"), Webp);
        // Refusing the default does not make a format the client did not name.
        assert_eq!(picked("image/jpeg;q=0"), Jpeg);
        // The most specific range decides, and its best duplicate.
        assert_eq!(picked("image/*;q=0, image/webp"), Webp);
        assert_eq!(picked("image/webp;q=0.2, image/webp;q=0.7, image/jpeg;q=0.6"), Webp);
    }

    #[test]
    fn headers_parse_leniently_and_within_bounds() {
        use OutputFormat::{Avif, Jpeg, Webp};
        assert_eq!(picked(" IMAGE/AVIF ; Q=1.000 ,image/webp"), Avif);
        assert_eq!(picked("image/avif;level=1;q=0.8"), Avif);
        // A bad q drops its range alone.
        for bad in ["2", "1.5", "0.1234", "-1", "", "x", "0.5x", "1.001"] {
            assert_eq!(picked(&format!("image/avif;q={bad}, image/webp")), Webp, "q={bad}");
        }
        assert_eq!(picked("image/avif;q, image/webp"), Webp);
        assert_eq!(picked(",,, ;;, image/webp"), Webp);
        // Two headers are one list.
        let two = Accept::parse(["text/html", "image/webp"]);
        assert_eq!(
            negotiate(JPEG, &ops("width-1"), &two, &site(&AVIF_WEBP))
                .encoding
                .format(),
            Webp
        );
        // Only the first 64 ranges are read.
        let padded = |n: usize| format!("{}image/avif", "text/plain,".repeat(n));
        assert_eq!(picked(&padded(63)), Avif);
        assert_eq!(picked(&padded(64)), Jpeg);
        assert_eq!(parse_q("0."), Some(0));
        assert_eq!(parse_q("0.75"), Some(750));
        assert_eq!(parse_q("1."), Some(1000));
    }

    #[test]
    fn only_lossy_defaults_without_format_vary() {
        let output = site(&AVIF_WEBP);
        let chrome = "image/avif,image/webp,*/*";
        let n = pick(chrome, JPEG, "width-100", &output);
        assert!(n.varies);
        // Picked the default, still varies: another client gets another format.
        assert!(pick("*/*", JPEG, "width-100", &output).varies);
        for (default, spec) in [
            (JPEG, "width-100|format-jpeg"),
            (Encoding::Webp(Compression::Lossy(80)), "width-100|format-webp"),
            (Encoding::Png, "width-100"),
            (Encoding::Webp(Compression::Lossless), "width-100|format-webp-lossless"),
            (Encoding::Ico, "width-100"),
            (Encoding::Svg, "width-100"),
        ] {
            assert_eq!(
                pick(chrome, default, spec, &output),
                Negotiated {
                    encoding: default,
                    varies: false
                },
                "{spec}"
            );
        }
        // Off: Wagtail's behaviour.
        assert_eq!(
            pick(chrome, JPEG, "width-100", &Output::default()),
            Negotiated {
                encoding: JPEG,
                varies: false
            }
        );
        // A WebP original's default can become AVIF.
        let webp = Encoding::Webp(Compression::Lossy(80));
        assert_eq!(
            pick(chrome, webp, "width-100", &output).encoding.format(),
            OutputFormat::Avif
        );
        assert_eq!(pick("image/webp", webp, "width-100", &output).encoding, webp);
    }

    #[test]
    fn the_pick_keeps_the_specs_quality_for_its_format() {
        let output = Output {
            webp_quality: Some(70),
            ..site(&[OutputFormat::Webp])
        };
        let webp = |spec: &str| pick("image/webp", JPEG, spec, &output).encoding;
        assert_eq!(webp("width-100|webpquality-55"), Encoding::Webp(Compression::Lossy(55)));
        assert_eq!(webp("width-100|jpegquality-40"), Encoding::Webp(Compression::Lossy(70)));
        let avif = pick("image/avif", JPEG, "width-1|avifquality-33", &site(&AVIF_WEBP)).encoding;
        assert_eq!(avif, Encoding::Avif(Compression::Lossy(33)));
        let avif = pick("image/avif", JPEG, "width-1", &site(&AVIF_WEBP)).encoding;
        assert_eq!(
            avif,
            Encoding::Avif(Compression::Lossy(Output::default().avif_quality()))
        );
    }
}
