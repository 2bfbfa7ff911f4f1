//! `renditiond sign`: the signed path of a rendition.

use renditiond::config::{signing_keys, spec_limits};
use renditiond::renditions::Request;
use renditiond::signature::Signer;

use crate::cli::SignArgs;

/// The path `/r/{signature}/{spec}/{key}`, after checking the keys, the spec
/// and the key as the server will (the same functions).
pub fn run(args: &SignArgs) -> anyhow::Result<String> {
    let keys = signing_keys(&args.signing_keys)?;
    let limits = spec_limits(&args.spec_max_bytes, &args.spec_max_operations)?;
    Request::parse(&args.spec, &args.key, &limits)?;
    let signer = Signer::new(keys, false);
    Ok(signer.signed_path(&args.spec, &args.key))
}
