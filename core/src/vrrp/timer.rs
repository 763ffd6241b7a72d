//! Per-instance deadlines (quinn-proto's `TimerTable` shape).
