//! zenoh-bridge-ros2dds for the tests: the published zenoh-plugin-ros2dds (and zenoh-plugin-remote-api) crates,
//! started statically in one Zenoh runtime, configured only by a JSON5 file (`-c FILE`), as zenohd is.
//! Upstream's bridge binary adds command-line flags over the same config; the tests write the file instead.
use zenoh::{
    config::Config,
    internal::{plugins::PluginsManager, runtime::RuntimeBuilder},
};
use zenoh_plugin_trait::Plugin;

fn config_from_args() -> Config {
    let args: Vec<String> = std::env::args().collect();
    let path = match args.iter().position(|a| a == "-c" || a == "--config") {
        Some(i) if i + 1 < args.len() => &args[i + 1],
        _ => {
            eprintln!("usage: zenoh-bridge-ros2dds -c CONFIG.json5");
            std::process::exit(2);
        }
    };
    let mut config = Config::from_file(path).unwrap_or_else(|e| {
        eprintln!("zenoh-bridge-ros2dds: cannot read {path}: {e}");
        std::process::exit(2);
    });
    // As upstream's bridge: timestamps on (the transient_local caches need them), admin space and plugins on.
    config
        .insert_json5("timestamping/enabled", r#"{ router: true, peer: true, client: true }"#)
        .expect("timestamping");
    config.insert_json5("adminspace/enabled", "true").expect("adminspace");
    config.insert_json5("plugins_loading/enabled", "true").expect("plugins_loading");
    config
}

#[tokio::main]
async fn main() {
    zenoh::init_log_from_env_or("z=info");
    tracing::info!("zenoh-bridge-ros2dds {}", zenoh_plugin_ros2dds::ROS2Plugin::PLUGIN_LONG_VERSION);
    let config = config_from_args();
    let mut plugins = PluginsManager::static_plugins_only();
    if config.plugin("ros2dds").is_some() {
        plugins.declare_static_plugin::<zenoh_plugin_ros2dds::ROS2Plugin, &str>("ros2dds", true);
    }
    if config.plugin("remote_api").is_some() {
        plugins.declare_static_plugin::<zenoh_plugin_remote_api::RemoteApiPlugin, &str>("remote_api", true);
    }
    let mut runtime = match RuntimeBuilder::new(config).plugins_manager(plugins).build().await {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("zenoh-bridge-ros2dds: {e}");
            std::process::exit(1);
        }
    };
    if let Err(e) = runtime.start().await {
        eprintln!("zenoh-bridge-ros2dds: failed to start: {e}");
        std::process::exit(1);
    }
    futures::future::pending::<()>().await;
}
