//! zenoh-bridge-ros2dds: the small main of src/lib.rs under the name of the bridge it stands for.
#[tokio::main]
async fn main() {
    auraison_zenoh_peers::run().await
}
