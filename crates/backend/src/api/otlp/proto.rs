//! The OTLP logs messages Chainwatch reads, as prost messages with the field numbers of
//! opentelemetry-proto's `collector/logs/v1/logs_service.proto`, `logs/v1/logs.proto`
//! and `common/v1/common.proto` (v1.x). Only the fields used are declared; prost skips
//! the others (trace ids, flags, dropped counts, schema urls) while decoding.

use prost::Message;

/// `ExportLogsServiceRequest`.
#[derive(Clone, PartialEq, Message)]
pub struct ExportLogsServiceRequest {
    /// The logs, by resource.
    #[prost(message, repeated, tag = "1")]
    pub resource_logs: Vec<ResourceLogs>,
}

/// `ResourceLogs`.
#[derive(Clone, PartialEq, Message)]
pub struct ResourceLogs {
    /// The resource (its attributes apply to every record under it).
    #[prost(message, optional, tag = "1")]
    pub resource: Option<Resource>,
    /// The logs, by instrumentation scope.
    #[prost(message, repeated, tag = "2")]
    pub scope_logs: Vec<ScopeLogs>,
}

/// `Resource`.
#[derive(Clone, PartialEq, Message)]
pub struct Resource {
    /// Its attributes.
    #[prost(message, repeated, tag = "1")]
    pub attributes: Vec<KeyValue>,
}

/// `ScopeLogs`.
#[derive(Clone, PartialEq, Message)]
pub struct ScopeLogs {
    /// The records.
    #[prost(message, repeated, tag = "2")]
    pub log_records: Vec<LogRecord>,
}

/// `LogRecord`.
#[derive(Clone, PartialEq, Message)]
pub struct LogRecord {
    /// When the event happened.
    #[prost(fixed64, tag = "1")]
    pub time_unix_nano: u64,
    /// The body (Claude Code: `claude_code.<event>`).
    #[prost(message, optional, tag = "5")]
    pub body: Option<AnyValue>,
    /// Its attributes.
    #[prost(message, repeated, tag = "6")]
    pub attributes: Vec<KeyValue>,
    /// When the exporter saw it.
    #[prost(fixed64, tag = "11")]
    pub observed_time_unix_nano: u64,
    /// The event's name (newer exporters set it here as well as in attributes).
    #[prost(string, tag = "12")]
    pub event_name: String,
}

/// `KeyValue`.
#[derive(Clone, PartialEq, Message)]
pub struct KeyValue {
    /// The key.
    #[prost(string, tag = "1")]
    pub key: String,
    /// The value.
    #[prost(message, optional, tag = "2")]
    pub value: Option<AnyValue>,
}

/// `AnyValue`.
#[derive(Clone, PartialEq, Message)]
pub struct AnyValue {
    /// One of the kinds.
    #[prost(oneof = "any_value::Value", tags = "1, 2, 3, 4, 5, 6, 7")]
    pub value: Option<any_value::Value>,
}

/// The kinds of an [`AnyValue`].
pub mod any_value {
    use prost::Oneof;

    /// `AnyValue.value`.
    #[derive(Clone, PartialEq, Oneof)]
    pub enum Value {
        /// `string_value`.
        #[prost(string, tag = "1")]
        String(String),
        /// `bool_value`.
        #[prost(bool, tag = "2")]
        Bool(bool),
        /// `int_value`.
        #[prost(int64, tag = "3")]
        Int(i64),
        /// `double_value`.
        #[prost(double, tag = "4")]
        Double(f64),
        /// `array_value` (not read).
        #[prost(bytes, tag = "5")]
        Array(Vec<u8>),
        /// `kvlist_value` (not read).
        #[prost(bytes, tag = "6")]
        Kvlist(Vec<u8>),
        /// `bytes_value` (not read).
        #[prost(bytes, tag = "7")]
        Bytes(Vec<u8>),
    }
}

/// `ExportLogsServiceResponse`.
#[derive(Clone, PartialEq, Message)]
pub struct ExportLogsServiceResponse {
    /// Set when some records were refused.
    #[prost(message, optional, tag = "1")]
    pub partial_success: Option<ExportLogsPartialSuccess>,
}

/// `ExportLogsPartialSuccess`.
#[derive(Clone, PartialEq, Message)]
pub struct ExportLogsPartialSuccess {
    /// How many records were refused.
    #[prost(int64, tag = "1")]
    pub rejected_log_records: i64,
    /// Why.
    #[prost(string, tag = "2")]
    pub error_message: String,
}
