//! First-fit index over open NodeClaims: a segment tree of the per-dimension maximum free room
//! (allocatable of the claim's current cheapest type minus what it holds), so finding the first
//! claim from a position whose room may hold a pod takes O(log n) instead of a scan.

/// Per-dimension maxima over claim ranges.
#[derive(Debug, Clone)]
pub(crate) struct FreeTree {
    nd: usize,
    cap: usize,
    len: usize,
    /// Node `v` (1-based heap order) holds `max[v * nd .. (v + 1) * nd]`.
    max: Vec<i64>,
}

impl FreeTree {
    pub(crate) fn new(nd: usize) -> FreeTree {
        FreeTree {
            nd,
            cap: 1,
            len: 0,
            max: vec![i64::MIN; 2 * nd],
        }
    }

    fn grow(&mut self) {
        let nd = self.nd;
        let old_cap = self.cap;
        let leaves: Vec<i64> = self.max[old_cap * nd..(old_cap + self.len) * nd].to_vec();
        self.cap *= 2;
        self.max = vec![i64::MIN; 2 * self.cap * nd];
        let base = self.cap * nd;
        self.max[base..base + leaves.len()].copy_from_slice(&leaves);
        for v in (1..self.cap).rev() {
            self.pull(v);
        }
    }

    fn pull(&mut self, v: usize) {
        let nd = self.nd;
        for d in 0..nd {
            let a = self.max[2 * v * nd + d];
            let b = self.max[(2 * v + 1) * nd + d];
            self.max[v * nd + d] = a.max(b);
        }
    }

    /// Appends a claim with room `free`.
    pub(crate) fn push(&mut self, free: &[i64]) {
        if self.len == self.cap {
            self.grow();
        }
        self.len += 1;
        self.set(self.len - 1, free);
    }

    /// Sets the room of claim `i`.
    pub(crate) fn set(&mut self, i: usize, free: &[i64]) {
        let nd = self.nd;
        let mut v = self.cap + i;
        self.max[v * nd..(v + 1) * nd].copy_from_slice(&free[..nd]);
        while v > 1 {
            v /= 2;
            self.pull(v);
        }
    }

    /// The first claim at or after `from` whose room holds `req` in every dimension.
    pub(crate) fn find(&self, from: usize, req: &[i64]) -> Option<usize> {
        if from >= self.len {
            return None;
        }
        self.descend(1, 0, self.cap, from, req)
    }

    fn descend(&self, v: usize, lo: usize, hi: usize, from: usize, req: &[i64]) -> Option<usize> {
        if hi <= from || lo >= self.len {
            return None;
        }
        let nd = self.nd;
        if (0..nd).any(|d| self.max[v * nd + d] < req[d]) {
            return None;
        }
        if hi - lo == 1 {
            return Some(lo);
        }
        let mid = (lo + hi) / 2;
        self.descend(2 * v, lo, mid, from, req)
            .or_else(|| self.descend(2 * v + 1, mid, hi, from, req))
    }
}

#[cfg(test)]
mod tests {
    use super::FreeTree;

    #[test]
    fn finds_first_fit_from_a_position() {
        let mut t = FreeTree::new(2);
        for f in [[1, 5], [4, 1], [4, 4], [2, 9], [8, 8]] {
            t.push(&f);
        }
        assert_eq!(t.find(0, &[3, 3]), Some(2));
        assert_eq!(t.find(3, &[3, 3]), Some(4));
        assert_eq!(t.find(0, &[9, 0]), None);
        t.set(2, &[0, 0]);
        assert_eq!(t.find(0, &[3, 3]), Some(4));
        assert_eq!(t.find(0, &[1, 5]), Some(0));
        assert_eq!(t.find(5, &[0, 0]), None);
    }

    #[test]
    fn matches_a_linear_scan() {
        let mut t = FreeTree::new(3);
        let mut all = Vec::new();
        let mut x: u64 = 7;
        for _ in 0..300 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let f = [
                (x >> 10) as i64 % 50,
                (x >> 20) as i64 % 50,
                (x >> 30) as i64 % 50,
            ];
            t.push(&f);
            all.push(f);
        }
        for from in [0, 17, 150, 299] {
            for req in [[10, 10, 10], [40, 5, 45], [49, 49, 0]] {
                let want = (from..all.len()).find(|i| (0..3).all(|d| all[*i][d] >= req[d]));
                assert_eq!(t.find(from, &req), want);
            }
        }
    }
}
