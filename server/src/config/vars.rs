//! Reads variables through their declarations ([`super::variables`]), so every default, bound
//! and message comes from one place, and every error names the variable.

use super::{
    variables::{Kind, Unit, Var},
    ConfigError,
};
use app::api::FileId;
use std::{collections::HashSet, fmt::Display, time::Duration};

/// Typed access to the variables, producing errors that name them.
pub struct Vars<'a>(pub(super) &'a dyn Fn(&str) -> Option<String>);

impl Vars<'_> {
    /// The value set for `var`, trimmed; `None` when unset or blank.
    pub fn value(&self, var: &Var) -> Option<String> {
        (self.0)(var.name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    /// A text variable's value, or its declared default when unset.
    pub fn text(&self, var: &Var) -> String {
        let Kind::Text { default, .. } = var.kind else {
            undeclared(var, "text")
        };
        self.value(var).unwrap_or_else(|| default.to_owned())
    }

    /// Checks `value` of `var` with `ok`; when it fails, the error says what the declaration
    /// allows.
    pub fn check(&self, var: &Var, value: impl Display, ok: bool) -> Result<(), ConfigError> {
        if ok {
            Ok(())
        } else {
            Err(self.refuse(var, value))
        }
    }

    /// An error for a value outside what `var`'s declaration allows, saying what it allows.
    fn refuse(&self, var: &Var, value: impl Display) -> ConfigError {
        self.invalid(var, value, format!("use {}", allowed(&var.kind)))
    }

    /// An error naming `var`, for rules that span variables.
    pub fn invalid(
        &self,
        var: &Var,
        value: impl Display,
        reason: impl Into<String>,
    ) -> ConfigError {
        ConfigError::Invalid {
            name: var.name,
            value: value.to_string(),
            reason: reason.into(),
        }
    }

    /// A number within its declared bounds, as the type the settings use.
    pub fn number<T: TryFrom<u64>>(&self, var: &Var) -> Result<T, ConfigError> {
        let Kind::Number {
            default, min, max, ..
        } = var.kind
        else {
            undeclared(var, "a number")
        };
        let Some(raw) = self.value(var) else {
            return T::try_from(default).map_err(|_| self.invalid(var, default, "too large"));
        };
        let value: u64 = raw
            .parse()
            .map_err(|e: std::num::ParseIntError| self.invalid(var, &raw, e.to_string()))?;
        if !(min..=max).contains(&value) {
            return Err(self.refuse(var, &raw));
        }
        T::try_from(value).map_err(|_| self.invalid(var, &raw, "the number is too large"))
    }

    /// A number of milliseconds or seconds, as a `Duration`.
    pub fn duration(&self, var: &Var) -> Result<Duration, ConfigError> {
        let count: u64 = self.number(var)?;
        match var.kind {
            Kind::Number {
                unit: Unit::Millis, ..
            } => Ok(Duration::from_millis(count)),
            Kind::Number {
                unit: Unit::Seconds,
                ..
            } => Ok(Duration::from_secs(count)),
            _ => undeclared(var, "a duration"),
        }
    }

    /// A decimal within its declared bounds.
    pub fn fraction(&self, var: &Var) -> Result<f64, ConfigError> {
        let Kind::Fraction { default, min, max } = var.kind else {
            undeclared(var, "a fraction")
        };
        let Some(raw) = self.value(var) else {
            return Ok(default);
        };
        let value: f64 = raw
            .parse()
            .map_err(|e: std::num::ParseFloatError| self.invalid(var, &raw, e.to_string()))?;
        if !(min..=max).contains(&value) {
            return Err(self.refuse(var, &raw));
        }
        Ok(value)
    }

    /// `true` or `false`, or `otherwise` when unset.
    pub fn flag(&self, var: &Var, otherwise: bool) -> Result<bool, ConfigError> {
        let Kind::Flag { default } = var.kind else {
            undeclared(var, "a flag")
        };
        match self.value(var) {
            None => Ok(default.unwrap_or(otherwise)),
            Some(raw) => raw.parse().map_err(|_| self.refuse(var, &raw)),
        }
    }

    /// One of the declared words.
    pub fn one_of(&self, var: &Var) -> Result<&'static str, ConfigError> {
        let Kind::OneOf { default, choices } = var.kind else {
            undeclared(var, "a choice")
        };
        let Some(raw) = self.value(var) else {
            return Ok(default);
        };
        choices
            .iter()
            .find(|choice| **choice == raw)
            .copied()
            .ok_or_else(|| self.refuse(var, &raw))
    }

    /// A comma-separated set of file ids.
    pub fn file_id_set(&self, var: &Var) -> Result<HashSet<FileId>, ConfigError> {
        let value = self.text(var);
        value
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse::<u64>()
                    .map_err(|e| e.to_string())
                    .and_then(|raw| FileId::new(raw).map_err(|e| e.to_string()))
                    .map_err(|reason| self.invalid(var, &value, reason))
            })
            .collect()
    }
}

/// The values a declaration allows, in words: "1 to 100", "at least 100 ms", "1 s to 7 days".
pub fn allowed(kind: &Kind) -> String {
    match *kind {
        Kind::Number { min, max, unit, .. } if max == u64::MAX => {
            format!("at least {}", amount(min, unit))
        }
        Kind::Number { min, max, unit, .. } => {
            format!("{} to {}", amount(min, unit), amount(max, unit))
        }
        Kind::Fraction { min, max, .. } => format!("{min} to {max}"),
        Kind::Flag { .. } => "true or false".into(),
        Kind::OneOf { choices, .. } => match choices.split_last() {
            Some((last, [])) => (*last).to_owned(),
            Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
            None => String::new(),
        },
        Kind::Text { allowed, .. } => allowed.into(),
        Kind::ReadBy { .. } => "see its reader".into(),
    }
}

/// `n` in `unit`, in the largest whole unit a person reads easily ("5 minutes", "4 GiB").
fn amount(n: u64, unit: Unit) -> String {
    let scaled = |n: u64, steps: &[(u64, &'static str, &'static str)], base| {
        let (size, one, many) = steps
            .iter()
            .copied()
            .find(|(size, ..)| n >= *size && n % size == 0)
            .unwrap_or(base);
        let count = n / size;
        format!("{count} {}", if count == 1 { one } else { many })
    };
    const SECONDS: &[(u64, &str, &str)] = &[
        (86_400, "day", "days"),
        (3_600, "hour", "hours"),
        (60, "minute", "minutes"),
    ];
    match unit {
        Unit::Count => n.to_string(),
        Unit::Bytes => scaled(
            n,
            &[(1 << 30, "GiB", "GiB"), (1 << 20, "MiB", "MiB")],
            (1, "byte", "bytes"),
        ),
        Unit::Seconds if n == 0 => "0 s".into(),
        Unit::Seconds => scaled(n, SECONDS, (1, "s", "s")),
        Unit::Millis if n == 0 || n % 1_000 != 0 => format!("{n} ms"),
        Unit::Millis => amount(n / 1_000, Unit::Seconds),
    }
}

/// A variable read as something it was not declared as: a programming error the configuration
/// tests catch, since they read every variable.
fn undeclared(var: &Var, wanted: &str) -> ! {
    panic!("{} is declared as {:?}, not {wanted}", var.name, var.kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_read_as_a_person_would_say_them() {
        let number = |min, max, unit| allowed(&super::super::variables::number(0, min, max, unit));
        assert_eq!(number(1, 100, Unit::Count), "1 to 100");
        assert_eq!(number(100, u64::MAX, Unit::Millis), "at least 100 ms");
        assert_eq!(number(100, 300_000, Unit::Millis), "100 ms to 5 minutes");
        assert_eq!(number(1, 604_800, Unit::Seconds), "1 s to 7 days");
        assert_eq!(number(0, 7_776_000, Unit::Seconds), "0 s to 90 days");
        assert_eq!(number(1, 86_400_000, Unit::Millis), "1 ms to 1 day");
        assert_eq!(number(1, 1 << 32, Unit::Bytes), "1 byte to 4 GiB");
        assert_eq!(number(1_500, 90_000, Unit::Millis), "1500 ms to 90 s");
    }
}
