//! The Zenoh bridges the tests run, from the published plugin crates (zenoh-plugin-ros2dds and
//! zenoh-plugin-remote-api) started statically in one Zenoh runtime, configured only by a JSON5 file (`-c FILE`), as
//! zenohd is: built as `zenoh-bridge-ros2dds` and as `zenoh-bridge-remote-api`, each runs the plugins its config
//! names. Upstream's bridge binaries add command-line flags over the same config; the tests write the file instead.
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
            eprintln!("usage: {} -c CONFIG.json5", args[0]);
            std::process::exit(2);
        }
    };
    let mut config = Config::from_file(path).unwrap_or_else(|e| {
        eprintln!("{}: cannot read {path}: {e}", args[0]);
        std::process::exit(2);
    });
    // As upstream's bridges: admin space and plugins on; for ros2dds also timestamps (its transient_local caches
    // need them), which the remote-api bridge leaves as configured.
    if config.plugin("ros2dds").is_some() {
        config
            .insert_json5("timestamping/enabled", r#"{ router: true, peer: true, client: true }"#)
            .expect("timestamping");
    }
    config.insert_json5("adminspace/enabled", "true").expect("adminspace");
    config.insert_json5("plugins_loading/enabled", "true").expect("plugins_loading");
    config
}

/// Starts the runtime with the plugins the config names and runs until killed.
pub async fn run() {
    zenoh::init_log_from_env_or("z=info");
    tracing::info!(
        "zenoh-plugin-ros2dds {}, zenoh-plugin-remote-api {}",
        zenoh_plugin_ros2dds::ROS2Plugin::PLUGIN_LONG_VERSION,
        zenoh_plugin_remote_api::RemoteApiPlugin::PLUGIN_LONG_VERSION
    );
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
            eprintln!("zenoh bridge: {e}");
            std::process::exit(1);
        }
    };
    if let Err(e) = runtime.start().await {
        eprintln!("zenoh bridge: failed to start: {e}");
        std::process::exit(1);
    }
    futures::future::pending::<()>().await;
}
