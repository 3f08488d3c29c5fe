using Breadboard.TestKit;

// Nearly every test here runs the built CLI binary, most of them beside real servers (ClickHouse, NATS, the Kafka
// mock process, Chromium): the whole project is the slow part of the suite (scripts/test-fast.sh leaves it out).
[assembly: Slow]
