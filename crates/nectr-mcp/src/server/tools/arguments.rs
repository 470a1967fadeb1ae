//! A tool's arguments, read strictly: malformed arguments (a wrong type, a missing or unknown
//! field) are a JSON-RPC invalid-params error, like every other bad argument. rmcp's own
//! `Parameters` answers them as a tool result with `isError` instead; this one keeps its name,
//! which is how rmcp's `#[tool]` macro finds the type whose schema is the tool's input schema.

use std::borrow::Cow;

use rmcp::ErrorData;
use rmcp::handler::server::common::FromContextPart;
use rmcp::handler::server::tool::ToolCallContext;
use schemars::JsonSchema;
use serde::de::DeserializeOwned;

use super::invalid;

/// The arguments of a tool call, as `T`.
pub(crate) struct Parameters<T>(pub(crate) T);

impl<T: JsonSchema> JsonSchema for Parameters<T> {
    fn schema_name() -> Cow<'static, str> {
        T::schema_name()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        T::json_schema(generator)
    }
}

impl<S, T: DeserializeOwned> FromContextPart<ToolCallContext<'_, S>> for Parameters<T> {
    fn from_context_part(context: &mut ToolCallContext<'_, S>) -> Result<Self, ErrorData> {
        let arguments = context.arguments.take().unwrap_or_default();
        serde_json::from_value(serde_json::Value::Object(arguments))
            .map(Self)
            .map_err(|error| invalid(format!("invalid arguments: {error}")))
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize, JsonSchema)]
    #[serde(deny_unknown_fields)]
    struct Args {
        limit: u32,
    }

    #[test]
    fn the_schema_is_the_arguments_own() {
        let schema = schemars::schema_for!(Parameters<Args>);
        let limit = schema.get("properties").and_then(|properties| properties.get("limit"));
        assert!(limit.is_some(), "{schema:?}");
        assert_eq!(schema.get("additionalProperties"), Some(&serde_json::Value::Bool(false)));
        let read: Args = serde_json::from_value(serde_json::json!({"limit": 3})).unwrap();
        assert_eq!(read.limit, 3);
    }
}
