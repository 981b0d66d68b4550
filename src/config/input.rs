//! Conversion of one raw setting — a TOML value from the file or a string from `.env` / the
//! environment — into the typed field it sets. Errors say what was expected.

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use toml::Value;

use super::duration::parse_duration;
use super::types::{Environment, LlmProvider, LogFormat, LogLevel, ShardSpec};
use crate::model::{ChannelId, GuildId};
use crate::pricing::{Price, PriceTable};
use crate::secret::Secret;

/// A raw value before conversion.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Input<'a> {
    /// From the TOML file: already typed by TOML.
    Toml(&'a Value),
    /// From `.env`, the environment or a secret file: always a string.
    Text(&'a str),
}

impl Input<'_> {
    /// The value as shown in messages: TOML syntax, or the text quoted.
    pub(crate) fn shown(self) -> String {
        match self {
            Input::Toml(value) => value.to_string(),
            Input::Text(text) => format!("{text:?}"),
        }
    }
}

/// An [`Input`] kept after its layer is read (a renamed key's value waits for every layer).
#[derive(Debug, Clone)]
pub(crate) enum OwnedInput {
    /// From the TOML file.
    Toml(Value),
    /// From `.env` or the environment.
    Text(String),
}

impl OwnedInput {
    /// A copy of `input`.
    pub(crate) fn of(input: Input<'_>) -> Self {
        match input {
            Input::Toml(value) => Self::Toml(value.clone()),
            Input::Text(text) => Self::Text(text.to_owned()),
        }
    }

    /// The value as an [`Input`].
    pub(crate) fn as_input(&self) -> Input<'_> {
        match self {
            Self::Toml(value) => Input::Toml(value),
            Self::Text(text) => Input::Text(text),
        }
    }
}

/// A field type that can be set from an [`Input`].
pub(crate) trait FromInput: Sized {
    /// Convert a string (env var, `.env`, secret file).
    fn from_text(text: &str) -> Result<Self, String>;

    /// Convert a TOML value; by default only strings are accepted.
    fn from_toml(value: &Value) -> Result<Self, String> {
        match value {
            Value::String(text) => Self::from_text(text),
            other => Err(format!("expected a string, found {}", kind(other))),
        }
    }

    /// Convert either kind of input.
    fn from_input(input: Input<'_>) -> Result<Self, String> {
        match input {
            Input::Toml(value) => Self::from_toml(value),
            Input::Text(text) => Self::from_text(text),
        }
    }
}

/// The TOML type name of a value, for messages.
fn kind(value: &Value) -> &'static str {
    value.type_str()
}

impl FromInput for String {
    fn from_text(text: &str) -> Result<Self, String> {
        Ok(text.to_owned())
    }
}

impl FromInput for Secret {
    fn from_text(text: &str) -> Result<Self, String> {
        Ok(Secret::new(text))
    }
}

impl FromInput for PathBuf {
    fn from_text(text: &str) -> Result<Self, String> {
        Ok(PathBuf::from(text))
    }
}

impl FromInput for bool {
    fn from_text(text: &str) -> Result<Self, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Ok(true),
            "false" | "0" | "no" | "off" | "" => Ok(false),
            _ => Err("expected true or false".to_owned()),
        }
    }

    fn from_toml(value: &Value) -> Result<Self, String> {
        value
            .as_bool()
            .ok_or_else(|| format!("expected true or false, found {}", kind(value)))
    }
}

macro_rules! integer_input {
    ($($ty:ty),*) => {$(
        impl FromInput for $ty {
            fn from_text(text: &str) -> Result<Self, String> {
                text.trim().parse().map_err(|_| {
                    format!("expected a whole number from {} to {}", <$ty>::MIN, <$ty>::MAX)
                })
            }

            fn from_toml(value: &Value) -> Result<Self, String> {
                let number = value
                    .as_integer()
                    .ok_or_else(|| format!("expected a whole number, found {}", kind(value)))?;
                <$ty>::try_from(number).map_err(|_| {
                    format!("expected a whole number from {} to {}", <$ty>::MIN, <$ty>::MAX)
                })
            }
        }
    )*};
}

integer_input!(u16, u32, u64, usize);

impl FromInput for f32 {
    fn from_text(text: &str) -> Result<Self, String> {
        text.trim()
            .parse::<f32>()
            .ok()
            .filter(|n| n.is_finite())
            .ok_or_else(|| "expected a number such as 0.3".to_owned())
    }

    fn from_toml(value: &Value) -> Result<Self, String> {
        match value {
            Value::Float(n) if n.is_finite() => Ok(*n as f32),
            Value::Integer(n) => Ok(*n as f32),
            other => Err(format!(
                "expected a number such as 0.3, found {}",
                kind(other)
            )),
        }
    }
}

impl FromInput for Duration {
    fn from_text(text: &str) -> Result<Self, String> {
        parse_duration(text)
    }

    fn from_toml(value: &Value) -> Result<Self, String> {
        match value {
            Value::String(text) => parse_duration(text),
            Value::Integer(secs) => u64::try_from(*secs)
                .map(Duration::from_secs)
                .map_err(|_| "a duration cannot be negative".to_owned()),
            other => Err(format!(
                "expected a duration such as \"30s\", found {}",
                kind(other)
            )),
        }
    }
}

impl<T: FromInput> FromInput for Option<T> {
    fn from_text(text: &str) -> Result<Self, String> {
        if text.trim().is_empty() {
            Ok(None)
        } else {
            T::from_text(text).map(Some)
        }
    }

    fn from_toml(value: &Value) -> Result<Self, String> {
        match value {
            Value::String(text) if text.trim().is_empty() => Ok(None),
            other => T::from_toml(other).map(Some),
        }
    }
}

/// Split a comma- or whitespace-separated env list, dropping empty items.
fn split_list(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|item| !item.is_empty())
}

/// One Discord snowflake id, from an integer or a string of digits.
fn snowflake(value: &Value) -> Result<u64, String> {
    match value {
        Value::Integer(n) if *n > 0 => Ok(n.unsigned_abs()),
        Value::String(text) => snowflake_text(text),
        other => Err(format!("`{other}` is not a numeric Discord id")),
    }
}

fn snowflake_text(text: &str) -> Result<u64, String> {
    text.trim()
        .parse::<u64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("`{text}` is not a numeric Discord id"))
}

fn toml_array(value: &Value) -> Result<&[Value], String> {
    value
        .as_array()
        .map(Vec::as_slice)
        .ok_or_else(|| format!("expected a list such as [1, 2], found {}", kind(value)))
}

macro_rules! id_list_input {
    ($($id:ident),*) => {$(
        impl FromInput for Vec<$id> {
            fn from_text(text: &str) -> Result<Self, String> {
                split_list(text).map(|item| snowflake_text(item).map($id)).collect()
            }

            fn from_toml(value: &Value) -> Result<Self, String> {
                toml_array(value)?.iter().map(|item| snowflake(item).map($id)).collect()
            }
        }
    )*};
}

id_list_input!(GuildId, ChannelId);

impl FromInput for Vec<String> {
    fn from_text(text: &str) -> Result<Self, String> {
        Ok(split_list(text).map(str::to_owned).collect())
    }

    fn from_toml(value: &Value) -> Result<Self, String> {
        toml_array(value)?
            .iter()
            .map(|item| {
                item.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| format!("expected a list of strings, found {}", kind(item)))
            })
            .collect()
    }
}

macro_rules! from_str_input {
    ($($ty:ty),*) => {$(
        impl FromInput for $ty {
            fn from_text(text: &str) -> Result<Self, String> {
                <$ty as FromStr>::from_str(text)
            }
        }
    )*};
}

from_str_input!(Environment, LlmProvider, LogLevel, LogFormat, ShardSpec);

/// A TOML number (integer or float) as `f64`.
fn toml_number(value: &Value) -> Option<f64> {
    match value {
        Value::Float(n) => Some(*n),
        Value::Integer(n) => Some(*n as f64),
        _ => None,
    }
}

impl FromInput for PriceTable {
    fn from_text(text: &str) -> Result<Self, String> {
        PriceTable::parse_text(text)
    }

    /// A table of model → `[input, output]` USD per 1M tokens, or the text form.
    fn from_toml(value: &Value) -> Result<Self, String> {
        let table = match value {
            Value::String(text) => return PriceTable::parse_text(text),
            Value::Table(table) => table,
            other => {
                return Err(format!(
                    "expected a table such as {{ \"gpt-4o\" = [2.5, 10.0] }}, found {}",
                    kind(other)
                ))
            }
        };
        let mut prices = PriceTable::default();
        for (model, pair) in table {
            let numbers: Option<Vec<f64>> = pair
                .as_array()
                .map(|items| items.iter().filter_map(toml_number).collect());
            let price = match numbers.as_deref() {
                Some(&[input, output]) if pair.as_array().is_some_and(|a| a.len() == 2) => {
                    Price::new(input, output)?
                }
                _ => {
                    return Err(format!(
                        "the price of `{model}` must be [input, output] in USD per 1M tokens, e.g. [2.5, 10.0]"
                    ))
                }
            };
            prices.insert(model, price)?;
        }
        Ok(prices)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_from_text_and_toml() {
        assert_eq!(u32::from_text(" 42 "), Ok(42));
        assert!(u16::from_text("70000").is_err());
        assert_eq!(u16::from_toml(&Value::Integer(8080)), Ok(8080));
        assert!(u16::from_toml(&Value::Integer(-1)).is_err());
        assert!(u32::from_toml(&Value::String("5".into()))
            .expect_err("string is not an integer")
            .contains("found string"));
        assert_eq!(f32::from_text("0.5"), Ok(0.5));
        assert!(f32::from_text("abc").is_err());
        assert!(f32::from_text("NaN").is_err());
        assert_eq!(f32::from_toml(&Value::Integer(1)), Ok(1.0));
    }

    #[test]
    fn booleans_accept_common_spellings() {
        assert_eq!(bool::from_text("TRUE"), Ok(true));
        assert_eq!(bool::from_text("0"), Ok(false));
        assert!(bool::from_text("maybe").is_err());
        assert!(bool::from_toml(&Value::String("true".into())).is_err());
    }

    #[test]
    fn id_lists_from_comma_text_and_toml_arrays() {
        assert_eq!(
            Vec::<GuildId>::from_text("1, 2,3"),
            Ok(vec![GuildId(1), GuildId(2), GuildId(3)])
        );
        assert_eq!(Vec::<GuildId>::from_text(""), Ok(vec![]));
        let err = Vec::<GuildId>::from_text("1,abc").expect_err("abc is not an id");
        assert!(err.contains("`abc` is not a numeric Discord id"), "{err}");
        let toml = Value::Array(vec![Value::Integer(7), Value::String("8".into())]);
        assert_eq!(
            Vec::<ChannelId>::from_toml(&toml),
            Ok(vec![ChannelId(7), ChannelId(8)])
        );
        assert!(Vec::<ChannelId>::from_toml(&Value::Array(vec![Value::Integer(-3)])).is_err());
        assert!(Vec::<ChannelId>::from_toml(&Value::Integer(3)).is_err());
    }

    #[test]
    fn durations_and_options() {
        assert_eq!(
            Duration::from_toml(&Value::Integer(90)),
            Ok(Duration::from_secs(90))
        );
        assert_eq!(Duration::from_text("5m"), Ok(Duration::from_secs(300)));
        assert!(Duration::from_toml(&Value::Boolean(true)).is_err());
        assert_eq!(Option::<ShardSpec>::from_text(""), Ok(None));
        assert!(Option::<ShardSpec>::from_text("x").is_err());
    }

    #[test]
    fn price_tables_from_toml_tables_and_text() {
        let toml: Value =
            toml::from_str::<toml::Table>(r#"p = { "gpt-4o" = [2.5, 10], llama = [0, 0] }"#)
                .expect("toml")["p"]
                .clone();
        let table = PriceTable::from_toml(&toml).expect("valid");
        assert!(!table.is_empty());
        assert_eq!(
            PriceTable::from_text("m=1/2"),
            PriceTable::from_toml(&Value::String("m=1/2".into()))
        );
        // What `config show` prints loads back unchanged.
        let shown = Value::try_from(&table).expect("serializes");
        assert_eq!(PriceTable::from_toml(&shown), Ok(table.clone()));
        for bad in [
            r#"p = { "gpt-4o" = [2.5] }"#,
            r#"p = { "gpt-4o" = [2.5, "x"] }"#,
            r#"p = { "gpt-4o" = 3 }"#,
            r#"p = { "gpt-4o" = [-1, 2] }"#,
            r"p = 5",
        ] {
            let v = toml::from_str::<toml::Table>(bad).expect("toml")["p"].clone();
            let err = PriceTable::from_toml(&v).expect_err(bad);
            assert!(
                err.contains("USD") || err.contains("expected a table"),
                "{bad}: {err}"
            );
        }
    }
}
