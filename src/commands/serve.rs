//! `renditiond serve`: validate the settings, limit the allocator's arenas,
//! start logging, run the server.

use renditiond::allocator;
use renditiond::config::{Config, ServeArgs};
use renditiond::server;

/// Runs the service until SIGTERM or Ctrl-C.
pub fn run(args: &ServeArgs) -> anyhow::Result<()> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let config = Config::from_args(args, cores)?;
    // Before the runtime starts any thread.
    allocator::limit_arenas(config.workers);
    server::init_logging(config.log_format);
    server::serve(config)?;
    Ok(())
}
