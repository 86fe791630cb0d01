//! Pure functions that turn API data into words, kept apart from the components so they are
//! unit-tested without a browser.

use crate::{
    api::{FileId, InvalidRequest, JobPhase, JobState, Timestamp, MAX_FILE_IDS_PER_JOB},
    units::format_bytes,
};

/// The reader's clock: the current instant and the local time zone's offset from UTC (minutes,
/// positive east of Greenwich), so deadlines read in local time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalClock {
    pub now: Timestamp,
    pub utc_offset_minutes: i32,
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
const DAY_MS: i64 = 86_400_000;

impl LocalClock {
    /// Local milliseconds since the epoch of `at`.
    fn local_ms(self, at: Timestamp) -> i64 {
        at.unix_millis() as i64 + i64::from(self.utc_offset_minutes) * 60_000
    }

    /// "14:05": the local time of day of `at`.
    pub fn time_of_day(self, at: Timestamp) -> String {
        let minutes = self.local_ms(at).rem_euclid(DAY_MS) / 60_000;
        format!("{:02}:{:02}", minutes / 60, minutes % 60)
    }

    /// "14:05 today", "14:05 tomorrow", "14:05 on 3 Dec": a deadline as a person plans by it.
    pub fn deadline(self, at: Timestamp) -> String {
        let time = self.time_of_day(at);
        match self.local_ms(at).div_euclid(DAY_MS) - self.local_ms(self.now).div_euclid(DAY_MS) {
            0 => format!("{time} today"),
            1 => format!("{time} tomorrow"),
            -1 => format!("{time} yesterday"),
            _ => format!("{time} on {}", self.day(at)),
        }
    }

    /// "14:05:09" today, "14:05:09 on 3 Dec" another day: an instant as an operator reads a log.
    pub fn moment(self, at: Timestamp) -> String {
        let seconds = self.local_ms(at).rem_euclid(DAY_MS) / 1_000;
        let time = format!(
            "{:02}:{:02}:{:02}",
            seconds / 3_600,
            seconds / 60 % 60,
            seconds % 60
        );
        if self.local_ms(at).div_euclid(DAY_MS) == self.local_ms(self.now).div_euclid(DAY_MS) {
            time
        } else {
            format!("{time} on {}", self.day(at))
        }
    }

    /// "3 Dec": the local calendar day of `at`.
    pub fn day(self, at: Timestamp) -> String {
        let (_, month, day) = civil_date(self.local_ms(at).div_euclid(DAY_MS));
        format!("{day} {}", MONTHS[(month - 1) as usize])
    }
}

/// Year, month (1–12) and day of the month of a day counted from 1970-01-01 (proleptic
/// Gregorian calendar; Howard Hinnant's `civil_from_days`).
fn civil_date(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// What the page's title says about its rows, given each row's phase (`None` while unknown) and
/// progress: "(45 %) Ferry" while something runs (the mean of the unfinished rows), then
/// "1 failed — Ferry", "Ready — Ferry", or just the page's name. A person with the tab in the
/// background sees how far things are without switching to it.
pub fn page_title(rows: impl IntoIterator<Item = (Option<JobPhase>, u8)>) -> String {
    let (mut unfinished, mut progress_sum, mut failed, mut ready) = (0u32, 0u32, 0u32, 0u32);
    for (phase, progress) in rows {
        match phase {
            Some(JobPhase::Completed) => ready += 1,
            Some(JobPhase::Failed) => failed += 1,
            Some(phase) if !phase.is_terminal() => {
                unfinished += 1;
                progress_sum += u32::from(progress);
            }
            _ => {}
        }
    }
    match (unfinished, failed, ready) {
        (1.., _, _) => format!("({} %) Ferry", progress_sum / unfinished),
        (0, 1.., _) => format!("{failed} failed — Ferry"),
        (0, 0, 1..) => "Ready — Ferry".to_owned(),
        _ => "Ferry — downloads".to_owned(),
    }
}

/// The state in words, as a person reads it in a row.
///
/// The clock is needed for the retry countdown ("in 3 s") and for deadlines in local time.
pub fn describe_state(state: &JobState, clock: LocalClock) -> String {
    let now = clock.now;
    match state {
        JobState::Queued { paused: true, .. } => {
            "Queued · the operator has paused downloads; yours starts when they resume".to_owned()
        }
        JobState::Queued { .. } => "Queued".to_owned(),
        JobState::Processing { progress, .. } => format!("Preparing… {progress} %"),
        JobState::Retrying {
            attempt,
            max_attempts,
            next_attempt_at,
            ..
        } => {
            let wait_secs = next_attempt_at
                .unix_millis()
                .saturating_sub(now.unix_millis())
                .div_ceil(1000);
            format!("Retrying (attempt {attempt} of {max_attempts}) in {wait_secs} s")
        }
        JobState::Completed {
            size, expires_at, ..
        } => format!(
            "Ready · {} · available until {}",
            format_bytes(*size),
            clock.deadline(*expires_at)
        ),
        JobState::Failed { error, .. } => format!("Failed: {error}"),
        JobState::Cancelled { .. } => "Cancelled".to_owned(),
        JobState::Expired { expired_at, .. } => format!(
            "Expired on {} at {}: the file was removed. Prepare it again to download it.",
            clock.day(*expired_at),
            clock.time_of_day(*expired_at)
        ),
    }
}

/// How many recent polls the transfer rate is averaged over (about 10 s at one poll per 2 s).
pub const RATE_SAMPLES: usize = 6;

/// One poll's reading of a transfer: when (ms) and how many bytes were done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransferSample {
    pub at_ms: u64,
    pub bytes_done: u64,
}

/// Adds a poll's reading to the recent ones, keeping the last [`RATE_SAMPLES`]. A reading below
/// the last one means a new attempt started from nothing: the old readings no longer count.
pub fn record_sample(samples: &mut Vec<TransferSample>, sample: TransferSample) {
    if samples
        .last()
        .is_some_and(|last| sample.bytes_done < last.bytes_done)
    {
        samples.clear();
    }
    samples.push(sample);
    if samples.len() > RATE_SAMPLES {
        samples.remove(0);
    }
}

/// Bytes per second over the recent readings, once there are two that differ in time and bytes.
pub fn transfer_rate(samples: &[TransferSample]) -> Option<f64> {
    let (first, last) = (samples.first()?, samples.last()?);
    let elapsed_ms = last.at_ms.checked_sub(first.at_ms).filter(|ms| *ms > 0)?;
    let bytes = last
        .bytes_done
        .checked_sub(first.bytes_done)
        .filter(|b| *b > 0)?;
    Some(bytes as f64 * 1000.0 / elapsed_ms as f64)
}

/// "12.3 MB of 45.6 MB · about 20 s left": bytes so far, the total when known, and the time
/// left once there is a rate to base it on. `None` before the first byte.
pub fn describe_transfer(
    bytes_done: u64,
    bytes_total: Option<u64>,
    rate: Option<f64>,
) -> Option<String> {
    if bytes_done == 0 && bytes_total.is_none() {
        return None;
    }
    let mut text = match bytes_total {
        Some(total) => format!("{} of {}", format_bytes(bytes_done), format_bytes(total)),
        None => format!("{} so far", format_bytes(bytes_done)),
    };
    if let (Some(total), Some(rate)) = (bytes_total, rate.filter(|r| *r > 0.0)) {
        let left_ms = (total.saturating_sub(bytes_done) as f64 / rate * 1000.0).ceil() as u64;
        text.push_str(&format!(
            " · about {} left",
            format_elapsed(left_ms.max(1000))
        ));
    }
    Some(text)
}

/// A duration as a person reads it: "8 s", "2 min 05 s", "1 h 02 min".
pub fn format_elapsed(millis: u64) -> String {
    let secs = millis / 1000;
    match secs {
        0..=59 => format!("{secs} s"),
        60..=3599 => format!("{} min {:02} s", secs / 60, secs % 60),
        _ => format!("{} h {:02} min", secs / 3600, (secs % 3600) / 60),
    }
}

/// Why the text in the File ID field cannot be sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileIdsInputError {
    #[error("Enter a file id, for example 12345.")]
    Empty,
    #[error("\"{0}\" is not a file id: file ids are whole numbers such as 12345.")]
    NotANumber(String),
    #[error("\"{0}\" runs backwards: write the smaller id first, as in 10000-10005.")]
    BackwardsRange(String),
    #[error("Check the file ids: {0}.")]
    Invalid(#[from] InvalidRequest),
}

/// Reads the File ID field: one id, or several for one bundle, separated by commas or spaces,
/// with `first-last` standing for every id in between ("10000-10004, 12345").
///
/// An id typed twice (or covered by two ranges) is asked for once: the person wants the file in
/// the zip, not an error about repetition.
pub fn parse_file_ids(input: &str) -> Result<Vec<FileId>, FileIdsInputError> {
    let mut ids = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for word in input
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|w| !w.is_empty())
    {
        let (first, last) = match word.split_once(['-', '\u{2013}']) {
            Some((first, last)) => (parse_number(first, word)?, parse_number(last, word)?),
            None => {
                let id = parse_number(word, word)?;
                (id, id)
            }
        };
        if first > last {
            return Err(FileIdsInputError::BackwardsRange(excerpt(word)));
        }
        // Check the size before expanding, so "10000-99999999" costs nothing.
        let total = ids.len() as u64 + (last - first + 1);
        if total > MAX_FILE_IDS_PER_JOB as u64 {
            let total = usize::try_from(total).unwrap_or(usize::MAX);
            return Err(InvalidRequest::BundleTooLarge(total).into());
        }
        for raw in first..=last {
            let id = FileId::new(raw)?;
            if seen.insert(id) {
                ids.push(id);
            }
        }
    }
    if ids.is_empty() {
        return Err(FileIdsInputError::Empty);
    }
    Ok(ids)
}

fn parse_number(text: &str, word: &str) -> Result<u64, FileIdsInputError> {
    text.parse()
        .map_err(|_| FileIdsInputError::NotANumber(excerpt(word)))
}

/// The start of what the person typed, short enough to quote back in a message.
fn excerpt(word: &str) -> String {
    word.chars().take(24).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: u64) -> Timestamp {
        Timestamp::from_unix_millis(ms)
    }

    fn utc(now: Timestamp) -> LocalClock {
        LocalClock {
            now,
            utc_offset_minutes: 0,
        }
    }

    #[test]
    fn deadlines_read_in_local_time_relative_to_today() {
        // 2026-12-01T13:00:00Z.
        let now = at(1_796_130_000_000);
        let in_berlin = LocalClock {
            now,
            utc_offset_minutes: 60,
        };
        let hour = 3_600_000;
        assert_eq!(
            in_berlin.deadline(at(1_796_130_000_000 + hour)),
            "15:00 today"
        );
        assert_eq!(
            in_berlin.deadline(at(1_796_130_000_000 + 24 * hour)),
            "14:00 tomorrow"
        );
        // 23:30 UTC is already tomorrow in Berlin.
        assert_eq!(
            in_berlin.deadline(at(1_796_130_000_000 + 10 * hour + 1_800_000)),
            "00:30 tomorrow"
        );
        assert_eq!(
            in_berlin.deadline(at(1_796_130_000_000 + 72 * hour)),
            "14:00 on 4 Dec"
        );
        assert_eq!(utc(now).day(at(0)), "1 Jan");
        assert_eq!(utc(now).day(at(951_782_400_000)), "29 Feb");
    }

    #[test]
    fn moments_have_seconds_and_name_another_day() {
        // 2026-12-01T13:00:00Z.
        let clock = utc(at(1_796_130_000_000));
        assert_eq!(clock.moment(at(1_796_130_000_000 + 65_432)), "13:01:05");
        assert_eq!(
            clock.moment(at(1_796_130_000_000 - 14 * 3_600_000)),
            "23:00:00 on 30 Nov"
        );
    }

    #[test]
    fn a_paused_queue_is_explained_on_a_queued_row() {
        let queued = |paused| JobState::Queued {
            progress: 0,
            attempt: 1,
            max_attempts: 3,
            paused,
            bytes_done: 0,
            bytes_total: None,
            files_done: 0,
            files_total: 1,
        };
        let clock = utc(at(0));
        assert_eq!(describe_state(&queued(false), clock), "Queued");
        assert_eq!(
            describe_state(&queued(true), clock),
            "Queued · the operator has paused downloads; yours starts when they resume"
        );
    }

    #[test]
    fn finished_states_say_until_when_and_since_when() {
        let now = at(1_796_130_000_000);
        let completed = JobState::Completed {
            progress: 100,
            url: "u".into(),
            url_expires_at: now,
            download_url: "d".into(),
            completed_at: now,
            expires_at: at(1_796_130_000_000 + 25 * 3_600_000),
            size: 64_000,
        };
        assert_eq!(
            describe_state(&completed, utc(now)),
            "Ready · 64.0 kB · available until 14:00 tomorrow"
        );
        let expired = JobState::Expired {
            completed_at: now,
            expired_at: at(1_796_130_000_000 - 49 * 3_600_000),
        };
        assert_eq!(
            describe_state(&expired, utc(now)),
            "Expired on 29 Nov at 12:00: the file was removed. Prepare it again to download it."
        );
    }

    #[test]
    fn the_title_tells_what_the_rows_are_doing() {
        use JobPhase::*;
        assert_eq!(page_title([]), "Ferry — downloads");
        assert_eq!(
            page_title([
                (Some(Processing), 40),
                (Some(Queued), 0),
                (Some(Completed), 100)
            ]),
            "(20 %) Ferry"
        );
        assert_eq!(
            page_title([(Some(Failed), 0), (Some(Completed), 100)]),
            "1 failed — Ferry"
        );
        assert_eq!(
            page_title([(Some(Completed), 100), (Some(Cancelled), 0), (None, 0)]),
            "Ready — Ferry"
        );
        assert_eq!(page_title([(Some(Expired), 0)]), "Ferry — downloads");
    }

    #[test]
    fn states_read_as_words() {
        let now = at(10_000);
        let processing = JobState::Processing {
            progress: 45,
            attempt: 1,
            max_attempts: 4,
            started_at: now,
            bytes_done: 0,
            bytes_total: None,
            files_done: 0,
            files_total: 1,
        };
        assert_eq!(describe_state(&processing, utc(now)), "Preparing… 45 %");
        let retrying = JobState::Retrying {
            progress: 0,
            attempt: 2,
            max_attempts: 4,
            error: "x".into(),
            next_attempt_at: at(12_100),
            bytes_done: 0,
            bytes_total: None,
            files_done: 0,
            files_total: 1,
        };
        assert_eq!(
            describe_state(&retrying, utc(now)),
            "Retrying (attempt 2 of 4) in 3 s"
        );
        let failed = JobState::Failed {
            error: "disk on fire".into(),
            attempt: 4,
            max_attempts: 4,
            failed_at: now,
        };
        assert_eq!(describe_state(&failed, utc(now)), "Failed: disk on fire");
    }

    #[test]
    fn transfers_read_as_bytes_and_time_left() {
        assert_eq!(describe_transfer(0, None, None), None);
        assert_eq!(
            describe_transfer(0, Some(45_600_000), None).as_deref(),
            Some("0 bytes of 45.6 MB")
        );
        assert_eq!(
            describe_transfer(12_300_000, Some(45_600_000), Some(1_665_000.0)).as_deref(),
            Some("12.3 MB of 45.6 MB · about 20 s left")
        );
        assert_eq!(
            describe_transfer(12_300_000, None, Some(1_000_000.0)).as_deref(),
            Some("12.3 MB so far")
        );
    }

    #[test]
    fn the_rate_is_smoothed_over_recent_polls_and_restarts_with_an_attempt() {
        let mut samples = Vec::new();
        let sample = |at_ms, bytes_done| TransferSample { at_ms, bytes_done };
        record_sample(&mut samples, sample(0, 0));
        assert_eq!(transfer_rate(&samples), None, "no rate from one reading");
        for i in 1..=10u64 {
            record_sample(&mut samples, sample(i * 2_000, i * 2_000_000));
        }
        assert_eq!(samples.len(), RATE_SAMPLES);
        assert_eq!(transfer_rate(&samples), Some(1_000_000.0));
        // A new attempt starts from nothing: only its own readings count.
        record_sample(&mut samples, sample(22_000, 0));
        assert_eq!(samples.len(), 1);
        assert_eq!(transfer_rate(&samples), None);
    }

    #[test]
    fn elapsed_time_reads_naturally() {
        assert_eq!(format_elapsed(8_400), "8 s");
        assert_eq!(format_elapsed(125_000), "2 min 05 s");
        assert_eq!(format_elapsed(3_720_000), "1 h 02 min");
    }

    #[test]
    fn the_field_accepts_one_or_several_ids() {
        assert_eq!(parse_file_ids(" 12345 ").unwrap().len(), 1);
        assert_eq!(parse_file_ids("12345, 23456 34567").unwrap().len(), 3);
        assert_eq!(parse_file_ids("  "), Err(FileIdsInputError::Empty));
        assert_eq!(
            parse_file_ids("12a45"),
            Err(FileIdsInputError::NotANumber("12a45".into()))
        );
        assert_eq!(
            parse_file_ids("12-3"),
            Err(FileIdsInputError::BackwardsRange("12-3".into()))
        );
        assert!(matches!(
            parse_file_ids("5"),
            Err(FileIdsInputError::Invalid(
                InvalidRequest::FileIdOutOfRange(5)
            ))
        ));
    }

    #[test]
    fn ranges_expand_and_repeats_are_asked_for_once() {
        let ids: Vec<u64> = parse_file_ids("10000-10003, 10002 12345\u{2013}12346")
            .unwrap()
            .into_iter()
            .map(FileId::get)
            .collect();
        assert_eq!(ids, [10000, 10001, 10002, 10003, 12345, 12346]);
        assert_eq!(
            parse_file_ids("10005-10000"),
            Err(FileIdsInputError::BackwardsRange("10005-10000".into()))
        );
        assert_eq!(
            parse_file_ids("10000-"),
            Err(FileIdsInputError::NotANumber("10000-".into()))
        );
        assert_eq!(
            parse_file_ids("10000-99999999"),
            Err(FileIdsInputError::Invalid(InvalidRequest::BundleTooLarge(
                99_990_000
            )))
        );
        assert_eq!(parse_file_ids("10000-10999").unwrap().len(), 1000);
        assert_eq!(
            parse_file_ids("10000-10999, 20000"),
            Err(FileIdsInputError::Invalid(InvalidRequest::BundleTooLarge(
                1001
            )))
        );
    }
}
