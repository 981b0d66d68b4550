//! A counting limit for threads: at most `n` hold a [`Permit`] at once, the others wait for one
//! (the webhook's `webhook.http_threads` requests handled at once on the connection threads).

use std::sync::{Condvar, Mutex, PoisonError};

/// At most `n` permits out at once.
pub struct Permits {
    free: Mutex<usize>,
    returned: Condvar,
}

/// One of the permits, given back on drop.
pub struct Permit<'a> {
    permits: &'a Permits,
}

impl Permits {
    /// `n` permits (at least one).
    pub fn new(n: usize) -> Self {
        Permits {
            free: Mutex::new(n.max(1)),
            returned: Condvar::new(),
        }
    }

    /// Take a permit, waiting while all are out.
    pub fn acquire(&self) -> Permit<'_> {
        // The count stays right whatever a panicking holder did: it only ever held the lock
        // to change the number.
        let mut free = self.free.lock().unwrap_or_else(PoisonError::into_inner);
        while *free == 0 {
            free = self
                .returned
                .wait(free)
                .unwrap_or_else(PoisonError::into_inner);
        }
        *free -= 1;
        Permit { permits: self }
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        let mut free = self
            .permits
            .free
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        *free += 1;
        self.permits.returned.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    #[test]
    fn no_more_than_n_holders_at_once_and_every_waiter_gets_one() {
        let permits = Arc::new(Permits::new(3));
        let (holding, most, done) = (
            Arc::new(AtomicUsize::new(0)),
            Arc::new(AtomicUsize::new(0)),
            Arc::new(AtomicUsize::new(0)),
        );
        let threads: Vec<_> = (0..12)
            .map(|_| {
                let (permits, holding, most, done) = (
                    Arc::clone(&permits),
                    Arc::clone(&holding),
                    Arc::clone(&most),
                    Arc::clone(&done),
                );
                std::thread::spawn(move || {
                    let _permit = permits.acquire();
                    let now = holding.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(20));
                    holding.fetch_sub(1, Ordering::SeqCst);
                    done.fetch_add(1, Ordering::SeqCst);
                })
            })
            .collect();
        for t in threads {
            t.join().expect("thread");
        }
        assert_eq!(done.load(Ordering::SeqCst), 12);
        assert_eq!(most.load(Ordering::SeqCst), 3);
        // All returned: three can be held again at once.
        let held: Vec<_> = (0..3).map(|_| permits.acquire()).collect();
        assert_eq!(held.len(), 3);
    }
}
