//! The waiting line of the embedded queue: one line per client, served in turn.
//!
//! The Redis backend keeps the same structure in Redis (`{p}:wait:<client>` lists and the
//! `{p}:clients` ring, see [`super::redis`]); both give the guarantee the queue documents: a job
//! waits behind at most one job of each other client with waiting jobs, however many each of
//! them queued.

use app::api::JobId;
use std::collections::{HashMap, VecDeque};

/// Waiting jobs by client, and the order in which clients are served.
#[derive(Debug, Default)]
pub struct RoundRobin {
    /// Each client's waiting jobs, oldest first; only clients with at least one job.
    lines: HashMap<String, VecDeque<JobId>>,
    /// Clients with waiting jobs, the next to be served first. Each appears once.
    turns: VecDeque<String>,
    len: usize,
}

impl RoundRobin {
    /// Jobs waiting, all clients together.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Queues a job at the back of its client's line; a client with no line yet takes the last
    /// turn.
    pub fn push_back(&mut self, client: &str, job: JobId) {
        self.line_for(client, false).push_back(job);
    }

    /// Puts a job at the front of its client's line (a released or taken-back job goes first);
    /// a client with no line yet takes the next turn.
    pub fn push_front(&mut self, client: &str, job: JobId) {
        self.line_for(client, true).push_front(job);
    }

    fn line_for(&mut self, client: &str, next_turn: bool) -> &mut VecDeque<JobId> {
        self.len += 1;
        if !self.lines.contains_key(client) {
            if next_turn {
                self.turns.push_front(client.to_owned());
            } else {
                self.turns.push_back(client.to_owned());
            }
        }
        self.lines.entry(client.to_owned()).or_default()
    }

    /// The next job: the front of the line of the client whose turn it is. That client's turn
    /// moves to the back if it has more jobs waiting.
    pub fn pop(&mut self) -> Option<JobId> {
        let client = self.turns.pop_front()?;
        let line = self.lines.get_mut(&client)?;
        let job = line.pop_front();
        if line.is_empty() {
            self.lines.remove(&client);
        } else {
            self.turns.push_back(client);
        }
        if job.is_some() {
            self.len -= 1;
        }
        job
    }

    /// Takes a job out of the line (it was cancelled).
    pub fn remove(&mut self, client: &str, job: JobId) {
        let Some(line) = self.lines.get_mut(client) else {
            return;
        };
        let before = line.len();
        line.retain(|id| *id != job);
        self.len -= before - line.len();
        if line.is_empty() {
            self.lines.remove(client);
            self.turns.retain(|c| c != client);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clients_take_turns_whatever_they_queued() {
        let mut line = RoundRobin::default();
        let a: Vec<JobId> = (0..5).map(|_| JobId::generate()).collect();
        for id in &a {
            line.push_back("a", *id);
        }
        let b = JobId::generate();
        line.push_back("b", b);
        assert_eq!(line.len(), 6);
        assert_eq!(line.pop(), Some(a[0]));
        assert_eq!(line.pop(), Some(b), "b's one job comes after one of a's");
        assert_eq!(line.pop(), Some(a[1]));
        let released = JobId::generate();
        line.push_front("c", released);
        assert_eq!(line.pop(), Some(released), "a released job goes first");
        line.remove("a", a[3]);
        assert_eq!(line.pop(), Some(a[2]));
        assert_eq!(line.pop(), Some(a[4]));
        assert_eq!(line.pop(), None);
        assert_eq!(line.len(), 0);
    }
}
