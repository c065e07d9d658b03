//! Durations as the dump writes them: a request's age and the process's uptime.

use std::fmt;
use std::time::Duration;

/// Decimal digits of `n`, without the formatting machinery.
pub(super) fn write_u64(out: &mut impl fmt::Write, mut n: u64) -> fmt::Result {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    // ASCII digits are UTF-8.
    out.write_str(std::str::from_utf8(&digits[at..]).unwrap_or("?"))
}

/// Two digits, zero-padded.
fn push_2(out: &mut impl fmt::Write, n: u64) -> fmt::Result {
    out.write_char(char::from(b'0' + (n / 10 % 10) as u8))?;
    out.write_char(char::from(b'0' + (n % 10) as u8))
}

/// A request's age: `0.35s`, `47.26s`, `1m34.00s`, `2h03m04.00s`.
#[derive(Clone, Copy, Debug)]
pub struct Elapsed(pub Duration);

impl Elapsed {
    /// Rounded to hundredths once, so 59.999s prints as 1m00.00s, not 60.00s. In `u64`
    /// (enough for 5,000 years), which a dump of a million lines feels.
    pub(super) fn hundredths(self) -> u64 {
        let nanos = u64::try_from(self.0.as_nanos()).unwrap_or(u64::MAX);
        nanos.saturating_add(5_000_000) / 10_000_000
    }

    pub(super) fn write_to(self, out: &mut impl fmt::Write) -> fmt::Result {
        let hundredths = self.hundredths();
        let (seconds, hundredths) = (hundredths / 100, hundredths % 100);
        let (hours, minutes, seconds) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
        if hours > 0 {
            write_u64(out, hours)?;
            out.write_char('h')?;
            push_2(out, minutes)?;
            out.write_char('m')?;
            push_2(out, seconds)?;
        } else if minutes > 0 {
            write_u64(out, minutes)?;
            out.write_char('m')?;
            push_2(out, seconds)?;
        } else if seconds >= 10 {
            push_2(out, seconds)?;
        } else {
            out.write_char(char::from(b'0' + seconds as u8))?;
        }
        out.write_char('.')?;
        push_2(out, hundredths)?;
        out.write_char('s')
    }
}

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_to(f)
    }
}

/// Process uptime: `42s`, `12m05s`, `3h12m`, `2d03h`.
pub(super) struct Uptime(pub(super) Duration);

impl fmt::Display for Uptime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let seconds = self.0.as_secs();
        let (days, hours, minutes, seconds) = (
            seconds / 86_400,
            seconds / 3600 % 24,
            seconds / 60 % 60,
            seconds % 60,
        );
        if days > 0 {
            write!(f, "{days}d{hours:02}h")
        } else if hours > 0 {
            write!(f, "{hours}h{minutes:02}m")
        } else if minutes > 0 {
            write!(f, "{minutes}m{seconds:02}s")
        } else {
            write!(f, "{seconds}s")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn elapsed(ms: u64) -> String {
        Elapsed(Duration::from_millis(ms)).to_string()
    }

    #[test]
    fn durations_read_like_the_cbfs_dump() {
        assert_eq!(elapsed(350), "0.35s");
        assert_eq!(elapsed(47_260), "47.26s");
        assert_eq!(elapsed(94_000), "1m34.00s");
        assert_eq!(elapsed(7_384_000), "2h03m04.00s");
        assert_eq!(elapsed(59_999), "1m00.00s");
        assert_eq!(elapsed(0), "0.00s");
    }

    #[test]
    fn uptimes() {
        let up = |s| Uptime(Duration::from_secs(s)).to_string();
        assert_eq!(up(42), "42s");
        assert_eq!(up(725), "12m05s");
        assert_eq!(up(11_520), "3h12m");
        assert_eq!(up(183_600), "2d03h");
    }
}
