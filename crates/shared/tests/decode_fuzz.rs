//! Property tests ("fuzzing" with a fixed budget, run on every `cargo test`): decoding
//! events and socket frames from arbitrary input never panics, and whatever decodes
//! re-encodes to something that decodes to the same value.
#![allow(missing_docs)]

use chainwatch_shared::{ClientMessage, EventKind, NewEvent, WorkspaceEvent};
use proptest::prelude::*;
use serde_json::{Value, json};

/// Arbitrary JSON values, nested a few levels.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        ".{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(".{0,8}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Objects that look like events: a real or made-up type, real field names, any values.
fn event_like() -> impl Strategy<Value = Value> {
    let types = prop::sample::select(
        EventKind::TYPE_NAMES
            .iter()
            .map(|s| (*s).to_owned())
            .chain(["session:phantom".to_owned(), String::new()])
            .collect::<Vec<_>>(),
    );
    let fields = prop::sample::subsequence(
        vec![
            "sessionId",
            "eventId",
            "cwd",
            "status",
            "prompt",
            "toolName",
            "chainId",
            "stepId",
            "requestId",
            "text",
            "path",
            "name",
            "payload",
            "seq",
            "timestamp",
            "since",
        ],
        0..8,
    );
    (types, fields, prop::collection::vec(json_value(), 8)).prop_map(|(kind, fields, values)| {
        let mut object = serde_json::Map::new();
        object.insert("type".into(), Value::String(kind));
        for (field, value) in fields.into_iter().zip(values) {
            object.insert(field.into(), value);
        }
        Value::Object(object)
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic_the_decoders(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = serde_json::from_slice::<NewEvent>(&bytes);
        let _ = serde_json::from_slice::<Vec<NewEvent>>(&bytes);
        let _ = serde_json::from_slice::<ClientMessage>(&bytes);
        let _ = serde_json::from_slice::<WorkspaceEvent>(&bytes);
    }

    #[test]
    fn event_like_objects_decode_or_fail_cleanly_and_round_trip(value in event_like()) {
        if let Ok(event) = serde_json::from_value::<NewEvent>(value.clone()) {
            let encoded = serde_json::to_value(&event).expect("encodes");
            let again: NewEvent = serde_json::from_value(encoded).expect("what decoded once decodes again");
            prop_assert_eq!(again, event);
        }
    }

    #[test]
    fn socket_frames_decode_or_fail_cleanly(kind in prop::sample::select(vec!["subscribe", "unsubscribe", "resume", "ping", "pong", "hello"]),
                                            session in json_value(), since in json_value()) {
        let frame = json!({"type": kind, "sessionId": session, "since": since});
        if let Ok(message) = serde_json::from_value::<ClientMessage>(frame) {
            let encoded = serde_json::to_string(&message).expect("encodes");
            prop_assert_eq!(serde_json::from_str::<ClientMessage>(&encoded).expect("decodes"), message);
        }
    }
}
