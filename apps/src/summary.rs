//! One-line packet summaries in the style of `tcpdump -n -e` (in progress).
