//! Cypher statements and their rows, independent of any driver: the adapter builds
//! [`Statement`]s from typed records and reads [`Record`]s back; a [`CypherSession`] carries them
//! to a Cypher engine (Neo4j over Bolt in production).
//!
//! [`CypherSession`]: crate::CypherSession

use std::collections::BTreeMap;

use nectr_domain::graph::GraphError;

/// A value sent as a parameter or read back from a row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    /// `null`.
    Null,
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A string.
    Text(String),
    /// A list.
    List(Vec<Value>),
    /// A map with string keys.
    Map(BTreeMap<String, Value>),
}

impl From<i64> for Value {
    fn from(value: i64) -> Self {
        Self::Int(value)
    }
}

impl From<u64> for Value {
    /// Saturates at `i64::MAX` (Cypher integers are signed).
    fn from(value: u64) -> Self {
        Self::Int(i64::try_from(value).unwrap_or(i64::MAX))
    }
}

impl From<u32> for Value {
    fn from(value: u32) -> Self {
        Self::Int(i64::from(value))
    }
}

impl From<&str> for Value {
    fn from(value: &str) -> Self {
        Self::Text(value.to_owned())
    }
}

impl From<String> for Value {
    fn from(value: String) -> Self {
        Self::Text(value)
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(value: Option<T>) -> Self {
        value.map_or(Self::Null, Into::into)
    }
}

impl<T: Into<Value>> From<Vec<T>> for Value {
    fn from(values: Vec<T>) -> Self {
        Self::List(values.into_iter().map(Into::into).collect())
    }
}

/// A map parameter's entries, built field by field (`UNWIND $rows AS row` reads them).
pub(crate) fn map<const N: usize>(entries: [(&str, Value); N]) -> Value {
    Value::Map(entries.into_iter().map(|(key, value)| (key.to_owned(), value)).collect())
}

/// One Cypher statement: its text (one of the adapter's constants in [`crate::cypher`]) and its
/// parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Statement {
    /// The Cypher text.
    pub text: &'static str,
    /// Parameters by name (`$name` in the text).
    pub params: BTreeMap<&'static str, Value>,
}

impl Statement {
    /// A statement without parameters.
    pub fn new(text: &'static str) -> Self {
        Self { text, params: BTreeMap::new() }
    }

    /// With the parameter `name` set to `value`.
    #[must_use]
    pub fn param(mut self, name: &'static str, value: impl Into<Value>) -> Self {
        self.params.insert(name, value.into());
        self
    }
}

/// One row of a result, by column name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Record {
    columns: BTreeMap<String, Value>,
}

impl Record {
    /// A row of these columns.
    pub fn new(columns: BTreeMap<String, Value>) -> Self {
        Self { columns }
    }

    /// The column's value (`Null` when absent).
    pub fn value(&self, column: &str) -> &Value {
        self.columns.get(column).unwrap_or(&Value::Null)
    }

    /// The column as a string.
    ///
    /// # Errors
    /// [`GraphError::Unexpected`] when it is not one.
    pub fn text(&self, column: &str) -> Result<String, GraphError> {
        match self.value(column) {
            Value::Text(text) => Ok(text.clone()),
            other => Err(mismatch(column, "a string", other)),
        }
    }

    /// The column as a string, or `None` when it is null.
    ///
    /// # Errors
    /// [`GraphError::Unexpected`] when it is neither.
    pub fn optional_text(&self, column: &str) -> Result<Option<String>, GraphError> {
        match self.value(column) {
            Value::Null => Ok(None),
            Value::Text(text) => Ok(Some(text.clone())),
            other => Err(mismatch(column, "a string or null", other)),
        }
    }

    /// The column as an integer.
    ///
    /// # Errors
    /// [`GraphError::Unexpected`] when it is not one.
    pub fn int(&self, column: &str) -> Result<i64, GraphError> {
        match self.value(column) {
            Value::Int(value) => Ok(*value),
            other => Err(mismatch(column, "an integer", other)),
        }
    }

    /// The column as a count (negative values read as 0).
    ///
    /// # Errors
    /// [`GraphError::Unexpected`] when it is not an integer.
    pub fn count(&self, column: &str) -> Result<u64, GraphError> {
        Ok(u64::try_from(self.int(column)?).unwrap_or(0))
    }
}

fn mismatch(column: &str, wanted: &str, found: &Value) -> GraphError {
    GraphError::Unexpected(anyhow::anyhow!(
        "the graph answered {found:?} in column {column}, not {wanted}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_read_typed_columns_and_refuse_others() {
        let record = Record::new(BTreeMap::from([
            ("path".to_owned(), Value::from("src/a.rs")),
            ("n".to_owned(), Value::Int(-3)),
        ]));
        assert_eq!(record.text("path").unwrap(), "src/a.rs");
        assert_eq!(record.count("n").unwrap(), 0);
        assert_eq!(record.optional_text("missing").unwrap(), None);
        let error = record.int("path").unwrap_err().to_string();
        assert!(error.contains("column path"), "{error}");
    }

    #[test]
    fn large_counts_saturate() {
        assert_eq!(Value::from(u64::MAX), Value::Int(i64::MAX));
        assert_eq!(Value::from(None::<String>), Value::Null);
    }
}
