//! ssollama integration tests: one binary (see design guide 1.9).
