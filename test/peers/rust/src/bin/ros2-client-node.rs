//! ros2-client-node: a ROS 2 node made with the crates.io `ros2-client` crate (Atostek's ROS 2 client library over
//! RustDDS), a client library written apart from rclcpp, rclpy and our own peers, for the tests to meet the daemon
//! through zenoh-bridge-ros2dds. Its DDS stays on loopback: only 127.0.0.1 is joined and announced, and discovery
//! reaches same-host participants by unicast to 127.0.0.1's well-known ports.
//!
//! ros2-client-node '<json spec>': domain, node, and what the node does:
//!   publish:   {topic, data: [..], rate_hz}: std_msgs/String, the data in turn
//!   subscribe: {topic}: each std_msgs/String as {"event": "sample", data}
//!   serve:     {service}: example_interfaces/AddTwoInts, answered a + b, each as {"event": "served", a, b}
//!   call:      {service, a, b, settle_ms}: one AddTwoInts call once a server matches and settle_ms more have
//!              passed (the other side may match later), {"event": "reply", sum}
//! Events are JSON lines on stdout, `ready` once its entities exist (int64s as decimal strings); it runs until stdin
//! closes.
use std::{io::Read, net::Ipv4Addr, time::Duration};

use futures::StreamExt;
use ros2_client::{
    dds::rustdds::DomainParticipantBuilder,
    qos::{Durability, History, WhenFull},
    Context, Message, MessageTypeName, Name, Node, NodeName, NodeOptions, QosProfile, ServiceMapping,
    ServiceTypeName,
};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

#[derive(Debug, Clone, Serialize, Deserialize)]
struct AddTwoIntsRequest {
    a: i64,
    b: i64,
}
impl Message for AddTwoIntsRequest {}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct AddTwoIntsResponse {
    sum: i64,
}
impl Message for AddTwoIntsResponse {}

fn emit(event: Value) {
    println!("{event}");
}

fn fail(what: String) -> ! {
    eprintln!("ros2-client-node: {what}");
    std::process::exit(2);
}

/// A topic or service name as ROS writes it (`/chatter`, `/bot/sum`): its namespace and base name.
fn name(full: &str) -> Name {
    let (namespace, base) = full.rsplit_once('/').unwrap_or(("", full));
    let namespace = if namespace.is_empty() { "/" } else { namespace };
    Name::new(namespace, base).unwrap_or_else(|e| fail(format!("bad name {full}: {e:?}")))
}

fn reliable() -> QosProfile {
    QosProfile::publisher_default()
        .reliability_reliable(WhenFull::DEFAULT)
        .durability(Durability::Volatile)
        .history(History::KeepLast { depth: 10 })
}

fn spec_str<'a>(spec: &'a Value, key: &str) -> &'a str {
    spec[key].as_str().unwrap_or_else(|| fail(format!("the spec has no string {key}")))
}

async fn publish(node: &mut Node, spec: &Value) {
    let topic = node
        .create_topic(&name(spec_str(spec, "topic")), MessageTypeName::new("std_msgs", "String"), &reliable())
        .unwrap_or_else(|e| fail(format!("topic: {e:?}")));
    let publisher = node.create_publisher::<String>(&topic, None).unwrap_or_else(|e| fail(format!("{e:?}")));
    emit(json!({"event": "ready"}));
    let data: Vec<String> = serde_json::from_value(spec["data"].clone()).unwrap_or_else(|e| fail(format!("{e}")));
    let period = Duration::from_secs_f64(1.0 / spec["rate_hz"].as_f64().unwrap_or(10.0));
    for (count, text) in data.iter().cycle().enumerate() {
        if let Err(e) = publisher.async_publish(text.clone()).await {
            emit(json!({"event": "error", "what": format!("publish: {e:?}")}));
        } else if count < data.len() {
            emit(json!({"event": "published", "data": text}));
        }
        tokio::time::sleep(period).await;
    }
}

async fn subscribe(node: &mut Node, spec: &Value) {
    let topic = node
        .create_topic(&name(spec_str(spec, "topic")), MessageTypeName::new("std_msgs", "String"), &reliable())
        .unwrap_or_else(|e| fail(format!("topic: {e:?}")));
    let subscription =
        node.create_subscription::<String>(&topic, None).unwrap_or_else(|e| fail(format!("{e:?}")));
    emit(json!({"event": "ready"}));
    let mut samples = std::pin::pin!(subscription.async_stream());
    while let Some(sample) = samples.next().await {
        match sample {
            Ok((data, _info)) => emit(json!({"event": "sample", "data": data})),
            Err(e) => emit(json!({"event": "error", "what": format!("take: {e:?}")})),
        }
    }
}

/// rmw_cyclonedds's request header (the mapping zenoh-bridge-ros2dds's Cyclone DDS speaks).
const MAPPING: ServiceMapping = ServiceMapping::Cyclone;

async fn serve(node: &mut Node, spec: &Value) {
    let server = node
        .create_server::<AddTwoIntsRequest, AddTwoIntsResponse>(
            MAPPING,
            &name(spec_str(spec, "service")),
            &ServiceTypeName::new("example_interfaces", "AddTwoInts"),
            reliable(),
            reliable(),
        )
        .unwrap_or_else(|e| fail(format!("server: {e:?}")));
    emit(json!({"event": "ready"}));
    let mut requests = std::pin::pin!(server.receive_request_stream());
    while let Some(request) = requests.next().await {
        match request {
            Ok((id, AddTwoIntsRequest { a, b })) => {
                let sum = a.wrapping_add(b);
                match server.async_send_response(id, AddTwoIntsResponse { sum }).await {
                    Ok(()) => emit(json!({"event": "served", "a": a.to_string(), "b": b.to_string()})),
                    Err(e) => emit(json!({"event": "error", "what": format!("respond: {e:?}")})),
                }
            }
            Err(e) => emit(json!({"event": "error", "what": format!("request: {e:?}")})),
        }
    }
}

async fn call(node: &mut Node, spec: &Value) {
    let client = node
        .create_client::<AddTwoIntsRequest, AddTwoIntsResponse>(
            MAPPING,
            &name(spec_str(spec, "service")),
            &ServiceTypeName::new("example_interfaces", "AddTwoInts"),
            reliable(),
            reliable(),
        )
        .unwrap_or_else(|e| fail(format!("client: {e:?}")));
    let number = |key: &str| -> i64 {
        spec[key]
            .as_str()
            .and_then(|s| s.parse().ok())
            .or_else(|| spec[key].as_i64())
            .unwrap_or_else(|| fail(format!("call.{key} is not an int64")))
    };
    let request = AddTwoIntsRequest { a: number("a"), b: number("b") };
    emit(json!({"event": "ready"}));
    // Matched at the DDS level (a reader of its requests, a writer of replies): the bridge's route is up.
    client.wait_for_service(node).await;
    emit(json!({"event": "matched"}));
    tokio::time::sleep(Duration::from_millis(spec["settle_ms"].as_u64().unwrap_or(0))).await;
    match client.async_call_service(request).await {
        Ok(AddTwoIntsResponse { sum }) => emit(json!({"event": "reply", "sum": sum.to_string()})),
        Err(e) => emit(json!({"event": "error", "what": format!("call: {e:?}")})),
    }
}

#[tokio::main]
async fn main() {
    let arg = std::env::args().nth(1).unwrap_or_else(|| fail("usage: ros2-client-node '<json spec>'".into()));
    let spec: Value = serde_json::from_str(&arg).unwrap_or_else(|e| fail(format!("the spec is not JSON: {e}")));
    let domain = spec["domain"].as_u64().unwrap_or(0) as u16;
    let participant = DomainParticipantBuilder::new(domain)
        .with_only_networks([Ipv4Addr::LOCALHOST])
        .same_host_loopback(true)
        .build()
        .unwrap_or_else(|e| fail(format!("DDS participant: {e:?}")));
    let context = Context::from_domain_participant(participant).unwrap_or_else(|e| fail(format!("{e:?}")));
    let mut node = context
        .new_node(
            NodeName::new("/", spec["node"].as_str().unwrap_or("ros2_client_node"))
                .unwrap_or_else(|e| fail(format!("node name: {e:?}"))),
            NodeOptions::new().enable_rosout(false),
        )
        .unwrap_or_else(|e| fail(format!("node: {e:?}")));
    // Graph events (ros_discovery_info, matching) need the spinner running beside the node's work.
    let spinner = node.spinner().unwrap_or_else(|e| fail(format!("spinner: {e:?}")));
    tokio::spawn(async move {
        if let Err(e) = spinner.spin().await {
            emit(json!({"event": "error", "what": format!("spinner: {e:?}")}));
        }
    });
    let work = async {
        let mut node = node;
        if spec.get("publish").is_some() {
            publish(&mut node, &spec["publish"]).await;
        } else if spec.get("subscribe").is_some() {
            subscribe(&mut node, &spec["subscribe"]).await;
        } else if spec.get("serve").is_some() {
            serve(&mut node, &spec["serve"]).await;
        } else if spec.get("call").is_some() {
            call(&mut node, &spec["call"]).await;
        } else {
            emit(json!({"event": "ready"}));
        }
        futures::future::pending::<()>().await;
    };
    // Ends when stdin closes, as the tests' other peers do.
    let stdin_closed = tokio::task::spawn_blocking(|| {
        let _ = std::io::stdin().read_to_end(&mut Vec::new());
    });
    tokio::select! {
        _ = work => {}
        _ = stdin_closed => {}
    }
}
