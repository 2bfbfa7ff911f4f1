//! `renditiond sign`: the signed path of a rendition.

use anyhow::ensure;
use renditiond::http::signature::Signer;
use renditiond::renditions::Request;

use crate::cli::SignArgs;

/// The path `/r/{signature}/{spec}/{key}`, after checking spec and key as the server will.
pub fn run(args: &SignArgs) -> anyhow::Result<String> {
    let first = args.signing_keys.split(',').next().unwrap_or_default().trim();
    ensure!(!first.is_empty(), "RENDITIOND_SIGNING_KEYS is empty");
    Request::parse(&args.spec, &args.key)?;
    let signer = Signer::new(vec![first.as_bytes().to_vec()], false);
    Ok(signer.signed_path(&args.spec, &args.key))
}
