//! Quantities as people read them, shared by the page and the server's messages.

/// A size in decimal units, as file managers and browsers show them: `512 bytes`, `12.3 MB`.
pub fn format_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["kB", "MB", "GB", "TB", "PB"];
    if bytes < 1000 {
        return format!("{bytes} bytes");
    }
    let mut value = bytes as f64 / 1000.0;
    let mut unit = 0;
    // Round first, so 999,950 bytes reads "1.0 MB", not "1000.0 kB".
    while (value * 10.0).round() / 10.0 >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_in_decimal_units() {
        assert_eq!(format_bytes(0), "0 bytes");
        assert_eq!(format_bytes(999), "999 bytes");
        assert_eq!(format_bytes(1_000), "1.0 kB");
        assert_eq!(format_bytes(12_345_678), "12.3 MB");
        assert_eq!(format_bytes(45_600_000), "45.6 MB");
        assert_eq!(format_bytes(999_950), "1.0 MB");
        assert_eq!(format_bytes(10 << 30), "10.7 GB");
    }
}
