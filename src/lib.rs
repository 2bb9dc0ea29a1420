//! Integration tests, examples and benchmarks of the dynamorator workspace.
