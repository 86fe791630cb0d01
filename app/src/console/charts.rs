//! The overview's charts, drawn as SVG by the page itself: finished jobs per minute (completed
//! and failed, stacked) and the queue's depth over the same hour.
//!
//! The geometry is plain functions of the numbers, so it is tested without a browser; each chart
//! carries a title and a text summary for screen readers (`role="img"`), and the numbers are in
//! the overview's tables as well.

use crate::api::ActivityInMinute;
use leptos::prelude::*;

/// The drawing area, in SVG user units (the SVG scales to its box).
pub const WIDTH: f64 = 600.0;
pub const HEIGHT: f64 = 140.0;

/// A round upper bound for an axis whose largest value is `max` (at least 1): 1, 2, 5, 10, 20…
pub fn axis_top(max: u64) -> u64 {
    let mut step = 1;
    loop {
        for factor in [1, 2, 5] {
            if step * factor >= max.max(1) {
                return step * factor;
            }
        }
        step *= 10;
    }
}

/// One minute's stacked bar: completed at the bottom, failed on top.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bar {
    pub x: f64,
    pub width: f64,
    pub completed_y: f64,
    pub completed_height: f64,
    pub failed_y: f64,
    pub failed_height: f64,
}

/// The bars of `minutes` (oldest first) against an axis topping at `top`.
pub fn bars(minutes: &[ActivityInMinute], top: u64) -> Vec<Bar> {
    let slot = WIDTH / minutes.len().max(1) as f64;
    let scale = HEIGHT / top.max(1) as f64;
    minutes
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let completed_height = m.completed as f64 * scale;
            let failed_height = m.failed as f64 * scale;
            Bar {
                x: i as f64 * slot + slot * 0.1,
                width: slot * 0.8,
                completed_y: HEIGHT - completed_height,
                completed_height,
                failed_y: HEIGHT - completed_height - failed_height,
                failed_height,
            }
        })
        .collect()
}

/// The depth samples as points (x, y), one per sampled minute.
pub fn depth_points(minutes: &[ActivityInMinute], top: u64) -> Vec<Option<(f64, f64)>> {
    let slot = WIDTH / minutes.len().max(1) as f64;
    let scale = HEIGHT / top.max(1) as f64;
    minutes
        .iter()
        .enumerate()
        .map(|(i, minute)| {
            let waiting = minute.waiting?;
            Some((
                i as f64 * slot + slot / 2.0,
                HEIGHT - waiting as f64 * scale,
            ))
        })
        .collect()
}

/// The depth line: one polyline per run of sampled minutes (a minute no instance sampled
/// breaks the line rather than inventing a value), as SVG `points`.
pub fn depth_lines(minutes: &[ActivityInMinute], top: u64) -> Vec<String> {
    depth_points(minutes, top)
        .split(Option::is_none)
        .filter(|run| !run.is_empty())
        .map(|run| {
            run.iter()
                .flatten()
                .map(|(x, y)| format!("{x:.1},{y:.1}"))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

/// What every chart has around its marks: the SVG with its title and summary for screen
/// readers (`role="img"`), the x axis, and a caption with the legend and the scale.
#[component]
fn ChartFrame(
    /// Names the chart (`data-chart`) and its title and summary ids.
    name: &'static str,
    title: &'static str,
    /// The chart in one sentence.
    #[prop(into)]
    summary: Signal<String>,
    /// Legend entries: a class (`legend-…`) and the words.
    legend: &'static [(&'static str, &'static str)],
    #[prop(into)] scale: Signal<String>,
    children: Children,
) -> impl IntoView {
    let (title_id, desc_id) = (format!("{name}-title"), format!("{name}-desc"));
    let labelled_by = format!("{title_id} {desc_id}");
    view! {
        <figure class="chart">
            <svg
                viewBox=format!("0 -4 {WIDTH} {}", HEIGHT + 8.0)
                preserveAspectRatio="none"
                role="img"
                aria-labelledby=labelled_by
                data-chart=name
            >
                <title id=title_id>{title}</title>
                <desc id=desc_id>{move || summary.get()}</desc>
                <line class="chart-axis" x1="0" y1=HEIGHT x2=WIDTH y2=HEIGHT></line>
                {children()}
            </svg>
            <figcaption>
                {legend
                    .iter()
                    .map(|(class, words)| view! { <span class=format!("legend {class}")>{*words}</span> })
                    .collect_view()}
                <span class="chart-scale">{move || scale.get()}</span>
            </figcaption>
        </figure>
    }
}

/// Completed and failed jobs per minute over the hour.
#[component]
pub fn ThroughputChart(minutes: Signal<Vec<ActivityInMinute>>) -> impl IntoView {
    let top = Memo::new(move |_| {
        minutes.with(|m| axis_top(m.iter().map(|m| m.completed + m.failed).max().unwrap_or(0)))
    });
    let summary = Signal::derive(move || {
        minutes.with(|m| {
            let completed: u64 = m.iter().map(|m| m.completed).sum();
            let failed: u64 = m.iter().map(|m| m.failed).sum();
            format!("In the last hour {completed} jobs completed and {failed} failed.")
        })
    });
    let scale = Signal::derive(move || format!("scale: 0–{} per minute", top.get()));
    let rect = |class: &'static str, x: f64, y: f64, width: f64, height: f64| {
        view! {
            <rect
                class=class
                x=format!("{x:.1}")
                y=format!("{y:.1}")
                width=format!("{width:.1}")
                height=format!("{height:.1}")
            ></rect>
        }
    };
    view! {
        <ChartFrame
            name="throughput"
            title="Jobs finished per minute"
            summary
            legend=&[("legend-completed", "completed"), ("legend-failed", "failed")]
            scale
        >
            {move || {
                bars(&minutes.get(), top.get())
                    .into_iter()
                    .map(|bar| {
                        (
                            rect("bar-completed", bar.x, bar.completed_y, bar.width, bar.completed_height),
                            rect("bar-failed", bar.x, bar.failed_y, bar.width, bar.failed_height),
                        )
                    })
                    .collect_view()
            }}
        </ChartFrame>
    }
}

/// Jobs waiting (queued or retrying) over the hour, as the heartbeats sampled them.
#[component]
pub fn DepthChart(minutes: Signal<Vec<ActivityInMinute>>) -> impl IntoView {
    let top = Memo::new(move |_| {
        minutes.with(|m| axis_top(m.iter().filter_map(|m| m.waiting).max().unwrap_or(0)))
    });
    let summary = Signal::derive(move || {
        minutes.with(|m| match m.iter().rev().find_map(|m| m.waiting) {
            Some(now) => {
                let peak = m.iter().filter_map(|m| m.waiting).max().unwrap_or(0);
                format!("{now} jobs waiting at the last sample; at most {peak} in the last hour.")
            }
            None => "No instance has sampled the queue's depth in the last hour.".to_owned(),
        })
    });
    let scale = Signal::derive(move || format!("scale: 0–{} jobs", top.get()));
    view! {
        <ChartFrame
            name="depth"
            title="Jobs waiting over the last hour"
            summary
            legend=&[("legend-depth", "waiting")]
            scale
        >
            {move || {
                depth_lines(&minutes.get(), top.get())
                    .into_iter()
                    .map(|points| view! { <polyline class="depth-line" points=points></polyline> })
                    .collect_view()
            }}
            // A dot per sample, so a lone sample shows as well.
            {move || {
                depth_points(&minutes.get(), top.get())
                    .into_iter()
                    .flatten()
                    .map(|(x, y)| {
                        view! {
                            <circle class="depth-dot" cx=format!("{x:.1}") cy=format!("{y:.1}") r="2.5"></circle>
                        }
                    })
                    .collect_view()
            }}
        </ChartFrame>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::Timestamp;

    fn minute(completed: u64, failed: u64, waiting: Option<u64>) -> ActivityInMinute {
        ActivityInMinute {
            minute: Timestamp::from_unix_millis(0),
            completed,
            failed,
            cancelled: 0,
            waiting,
            processing: waiting.map(|_| 0),
        }
    }

    #[test]
    fn axes_top_out_at_a_round_number_above_the_largest_value() {
        let tops: Vec<u64> = [0, 1, 2, 3, 6, 10, 11, 49, 51, 999].map(axis_top).to_vec();
        assert_eq!(tops, [1, 1, 2, 5, 10, 10, 20, 50, 100, 1_000]);
    }

    #[test]
    fn bars_stack_failed_on_completed_and_scale_to_the_axis() {
        let minutes = [minute(0, 0, None), minute(5, 5, None)];
        let bars = bars(&minutes, 10);
        assert_eq!(bars.len(), 2);
        assert_eq!(
            (bars[0].completed_height, bars[0].failed_height),
            (0.0, 0.0)
        );
        let full = bars[1];
        assert_eq!(full.completed_height + full.failed_height, HEIGHT);
        assert_eq!(full.failed_y, 0.0, "the tallest bar reaches the top");
        assert_eq!(full.completed_y, full.failed_y + full.failed_height);
        assert!(full.x > bars[0].x + bars[0].width, "bars do not overlap");
    }

    #[test]
    fn the_depth_line_breaks_where_no_sample_was_taken() {
        let minutes = [
            minute(0, 0, Some(4)),
            minute(0, 0, Some(2)),
            minute(0, 0, None),
            minute(0, 0, Some(0)),
        ];
        let lines = depth_lines(&minutes, 4);
        assert_eq!(lines, vec!["75.0,0.0 225.0,70.0", "525.0,140.0"]);
        assert!(depth_lines(&[minute(0, 0, None)], 1).is_empty());
    }
}
