//! The per-model price table: what one model request cost, from its token usage. The
//! core stamps each `message:assistant` that reports usage but no cost with the cost
//! this table gives, so the event log records the price that applied when the request
//! was made and the fold only sums (a later price change never rewrites history).
//!
//! Models are matched by the longest prefix in the table (`claude-opus-4-1` before
//! `claude-opus`). Prices are US dollars per million tokens. The defaults are Anthropic's
//! list prices (docs/PRICES.md); `chainwatch serve --prices FILE` (env `CHAINWATCH_PRICES`)
//! merges a JSON object of the same shape over them, e.g.
//! `{"claude-opus": {"input": 5, "output": 25, "cacheRead": 0.5, "cacheCreation": 6.25}}`.

use std::collections::BTreeMap;
use std::path::Path;

use chainwatch_shared::TokenUsage;
use serde::Deserialize;

/// Prices of one model family, in US dollars per million tokens.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Price {
    /// Input tokens not read from or written to the cache.
    pub input: f64,
    /// Output tokens.
    pub output: f64,
    /// Tokens read from the prompt cache.
    pub cache_read: f64,
    /// Tokens written to the prompt cache (5-minute cache writes).
    pub cache_creation: f64,
}

impl Price {
    const fn new(input: f64, output: f64) -> Self {
        // Anthropic's cache multipliers: reads 0.1x input, 5-minute writes 1.25x input.
        Self {
            input,
            output,
            cache_read: input * 0.1,
            cache_creation: input * 1.25,
        }
    }

    fn cost(&self, usage: &TokenUsage) -> f64 {
        let per = |tokens: u64, price: f64| tokens as f64 * price / 1_000_000.0;
        per(usage.input_tokens, self.input)
            + per(usage.output_tokens, self.output)
            + per(usage.cache_read_tokens, self.cache_read)
            + per(usage.cache_creation_tokens, self.cache_creation)
    }
}

/// The default prices, by model-name prefix.
const DEFAULTS: &[(&str, Price)] = &[
    ("claude-opus", Price::new(5.0, 25.0)),
    ("claude-opus-4-0", Price::new(15.0, 75.0)),
    ("claude-opus-4-1", Price::new(15.0, 75.0)),
    ("claude-opus-4-2025", Price::new(15.0, 75.0)),
    ("claude-3-opus", Price::new(15.0, 75.0)),
    ("claude-sonnet", Price::new(3.0, 15.0)),
    ("claude-3-7-sonnet", Price::new(3.0, 15.0)),
    ("claude-3-5-sonnet", Price::new(3.0, 15.0)),
    ("claude-haiku", Price::new(1.0, 5.0)),
    ("claude-3-5-haiku", Price::new(0.8, 4.0)),
    ("claude-3-haiku", Price::new(0.25, 1.25)),
];

/// Why a price file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum PriceError {
    /// The file cannot be read.
    #[error("cannot read the price file {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not a price table.
    #[error(
        "{path} is not a price table (a JSON object of model prefix → {{input, output, cacheRead, cacheCreation}} in USD per million tokens): {reason}"
    )]
    Invalid {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
}

/// Prices by model-name prefix.
#[derive(Debug, Clone, PartialEq)]
pub struct PriceTable {
    prices: BTreeMap<String, Price>,
}

impl Default for PriceTable {
    fn default() -> Self {
        Self {
            prices: DEFAULTS
                .iter()
                .map(|(prefix, price)| ((*prefix).to_owned(), *price))
                .collect(),
        }
    }
}

impl PriceTable {
    /// The defaults with the entries of a JSON price file merged over them.
    pub fn with_file(path: &Path) -> Result<Self, PriceError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| PriceError::Read {
            path: shown.clone(),
            source,
        })?;
        let entries: BTreeMap<String, Price> =
            serde_json::from_str(&text).map_err(|e| PriceError::Invalid {
                path: shown.clone(),
                reason: e.to_string(),
            })?;
        let mut table = Self::default();
        for (prefix, price) in entries {
            let fields = [
                price.input,
                price.output,
                price.cache_read,
                price.cache_creation,
            ];
            if prefix.is_empty() || fields.iter().any(|p| !p.is_finite() || *p < 0.0) {
                return Err(PriceError::Invalid {
                    path: shown,
                    reason: format!(
                        "entry {prefix:?}: the prefix must not be empty and prices must be finite and not negative"
                    ),
                });
            }
            table.prices.insert(prefix, price);
        }
        Ok(table)
    }

    /// The price of a model: the entry with the longest prefix of its name.
    pub fn price(&self, model: &str) -> Option<&Price> {
        self.prices
            .iter()
            .filter(|(prefix, _)| model.starts_with(prefix.as_str()))
            .max_by_key(|(prefix, _)| prefix.len())
            .map(|(_, price)| price)
    }

    /// What a request cost, when its model has a price.
    pub fn cost(&self, model: &str, usage: &TokenUsage) -> Option<f64> {
        self.price(model).map(|price| price.cost(usage))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn usage(input: u64, output: u64, read: u64, write: u64) -> TokenUsage {
        TokenUsage {
            input_tokens: input,
            output_tokens: output,
            cache_read_tokens: read,
            cache_creation_tokens: write,
        }
    }

    #[test]
    fn the_longest_prefix_wins() {
        let table = PriceTable::default();
        assert_eq!(table.price("claude-opus-4-1-20250805").unwrap().input, 15.0);
        assert_eq!(table.price("claude-opus-4-5-20251101").unwrap().input, 5.0);
        assert_eq!(table.price("claude-3-5-haiku-latest").unwrap().input, 0.8);
        assert!(table.price("gpt-4o").is_none());
    }

    #[test]
    fn cost_sums_the_four_kinds_of_tokens() {
        let table = PriceTable::default();
        // Sonnet: $3 in, $15 out, $0.30 cache read, $3.75 cache write per million.
        let cost = table
            .cost(
                "claude-sonnet-4-5",
                &usage(1_000_000, 100_000, 2_000_000, 400_000),
            )
            .unwrap();
        assert!((cost - (3.0 + 1.5 + 0.6 + 1.5)).abs() < 1e-9, "{cost}");
    }

    #[test]
    fn a_file_overrides_and_adds_and_bad_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("prices.json");
        std::fs::write(
            &path,
            r#"{"claude-sonnet": {"input": 1, "output": 2, "cacheRead": 0, "cacheCreation": 0},
                "local-model": {"input": 0, "output": 0, "cacheRead": 0, "cacheCreation": 0}}"#,
        )
        .unwrap();
        let table = PriceTable::with_file(&path).unwrap();
        assert_eq!(table.price("claude-sonnet-4").unwrap().output, 2.0);
        assert_eq!(table.cost("local-model-7b", &usage(5, 5, 5, 5)), Some(0.0));
        assert_eq!(table.price("claude-opus-4-1").unwrap().input, 15.0);
        std::fs::write(
            &path,
            r#"{"x": {"input": -1, "output": 0, "cacheRead": 0, "cacheCreation": 0}}"#,
        )
        .unwrap();
        assert!(matches!(
            PriceTable::with_file(&path),
            Err(PriceError::Invalid { .. })
        ));
        std::fs::write(&path, r#"{"x": {"input": 1}}"#).unwrap();
        assert!(PriceTable::with_file(&path).is_err());
    }
}
