//! A small seeded random generator (SplitMix64), so every run builds the
//! same vaults without another dependency.

pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next_u64() % n as u64) as usize
        }
    }

    /// A number in `lo..=hi`.
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1) as usize) as i64
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// A sentence of `words` words from a fixed vocabulary.
    pub fn prose(&mut self, words: usize) -> String {
        const VOCAB: &[&str] = &[
            "the",
            "team",
            "asked",
            "about",
            "scaling",
            "a",
            "queue",
            "and",
            "how",
            "we",
            "handled",
            "backpressure",
            "they",
            "liked",
            "my",
            "story",
            "on",
            "migrating",
            "postgres",
            "should",
            "have",
            "talked",
            "less",
            "more",
            "concrete",
            "numbers",
            "hiring",
            "manager",
            "seemed",
            "focused",
            "ownership",
            "latency",
            "budget",
            "on-call",
            "mentoring",
            "roadmap",
            "trade-offs",
            "consistency",
            "cache",
            "design",
            "review",
            "culture",
            "remote",
            "equity",
            "growth",
            "platform",
            "rust",
            "kafka",
        ];
        let mut s = String::new();
        for i in 0..words {
            if i > 0 {
                s.push(' ');
            }
            let w: &str = VOCAB[self.below(VOCAB.len())];
            s.push_str(w);
        }
        s
    }
}
