-- Breadboard pipeline compiled to Flink SQL (Breadboard.Flink.FlinkSqlCompiler). Do not edit: regenerate.
-- Targets Apache Flink 1.20 (LTS) with the Kafka SQL connector flink-sql-connector-kafka 3.3.0-1.20.
-- Also valid for Flink 1.19. Not for 1.18 or older: the SESSION window table-valued function arrived in 1.19.
-- Pipeline: ooo=5000;dedup=600000;window=1m,Tumbling,60000,60000,0;window=5m,Hopping,300000,60000,0;window=session,Session,0,0,30000;rule=price_drop,PriceChange,5m,LessOrEqual,-5,0;rule=price_spike,PriceChange,5m,GreaterOrEqual,5,0;rule=volume_surge,VolumeSurge,1m,GreaterOrEqual,5,20
--
-- Differences from the local engine (docs/ENGINE.md):
-- * Late ticks are dropped by Flink's window operators, not written to a late output, and not counted here.
-- * The watermark is periodic (pipeline.auto-watermark-interval) and the minimum over all source partitions;
--   idle partitions are skipped after table.exec.source.idle-timeout. Which ticks are late can therefore differ.
-- * A window closes when the watermark reaches its last millisecond (end - 1); the local engine's at end.
-- * A stream has no end: the last windows close only when later ticks move the watermark on.
-- * open/close ties (several ticks at the same ms) are broken by the price text, not by arrival order.
-- * Duplicates are dropped by (symbol, trade_id) with no horizon: the dedup state keeps every trade id
--   (dedup_horizon is not applied, so a trade id repeated after the horizon is still dropped).
-- * Sessions: the gap is compiled as gap - 1 ms, and window_end written as Flink's end + 1 ms, because Flink
--   merges sessions that touch and the local engine does not.
-- * volume_surge takes the mean of the previous bars as (sum of lookback+1 bars - this bar) / lookback.
-- * Ticks the local engine refuses (malformed, out of range, beyond year 9999) are skipped here and never move
--   the watermark; 'breadboard sink', which reads the tick topics too, dead-letters them.
-- * No future guard: a valid tick far ahead of the others moves the watermark (the local engine holds it
--   until later ticks confirm the jump, and on live faces refuses ticks ahead of the wall clock).
-- * A ts with an impossible day (2026-02-30) is read leniently by UNIX_TIMESTAMP; the local engine refuses it.
-- * Doubles are written in Java's notation (1.0E-4 where .NET writes 0.0001); readers parse both.
-- Readers of the bars and alerts topics must use isolation.level=read_committed (exactly-once sinks).

SET 'pipeline.name' = 'breadboard';

SET 'execution.runtime-mode' = 'streaming';

SET 'parallelism.default' = '2';

SET 'execution.checkpointing.interval' = '30 s';

SET 'execution.checkpointing.mode' = 'EXACTLY_ONCE';

SET 'execution.checkpointing.externalized-checkpoint-retention' = 'RETAIN_ON_CANCELLATION';

SET 'state.backend.type' = 'rocksdb';

SET 'execution.checkpointing.incremental' = 'true';

SET 'table.local-time-zone' = 'UTC';

SET 'table.exec.source.idle-timeout' = '30 s';

CREATE TABLE stock_prices (
  `v` INT,
  `symbol` STRING,
  `ts` STRING,
  `price` DOUBLE,
  `volume` DOUBLE,
  `trade_id` STRING,
  `exchange` STRING,
  `asset_class` STRING,
  `proc_time` AS PROCTIME(),
  `event_ts` AS TO_TIMESTAMP_LTZ(CASE WHEN REGEXP(`ts`, '^[0-9]{1,15}$') THEN CAST(`ts` AS BIGINT) WHEN REGEXP(`ts`, '^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])[Tt ]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]+)?([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$') THEN UNIX_TIMESTAMP(CONCAT(SUBSTRING(`ts` FROM 1 FOR 10), ' ', SUBSTRING(`ts` FROM 12 FOR 8)), 'yyyy-MM-dd HH:mm:ss') * 1000 + CAST(RPAD(COALESCE(REGEXP_EXTRACT(`ts`, '^.{19}\.([0-9]{1,3})', 1), ''), 3, '0') AS BIGINT) - CASE WHEN REGEXP(`ts`, '[+-][0-9]{2}:[0-9]{2}$') THEN (CASE WHEN SUBSTRING(`ts` FROM CHAR_LENGTH(`ts`) - 5 FOR 1) = '-' THEN -1 ELSE 1 END) * (CAST(SUBSTRING(`ts` FROM CHAR_LENGTH(`ts`) - 4 FOR 2) AS BIGINT) * 60 + CAST(SUBSTRING(`ts` FROM CHAR_LENGTH(`ts`) - 1 FOR 2) AS BIGINT)) * 60000 ELSE 0 END END, 3),
  WATERMARK FOR `event_ts` AS CASE WHEN `v` = 1 AND CHAR_LENGTH(`symbol`) BETWEEN 1 AND 64 AND NOT REGEXP(`symbol`, '[\s\p{Cntrl}]') AND `event_ts` BETWEEN TO_TIMESTAMP_LTZ(0, 3) AND TO_TIMESTAMP_LTZ(253402300499999, 3) AND `price` BETWEEN 1E-15 AND 1000000000000000 AND (`volume` = 0 OR `volume` BETWEEN 1E-15 AND 1E+18) AND `price` * `volume` <= 1E+21 THEN `event_ts` - INTERVAL '5' SECOND END
) WITH (
  'connector' = 'kafka',
  'topic' = 'stock-prices',
  'properties.bootstrap.servers' = 'kafka:9092',
  'properties.group.id' = 'breadboard-flink',
  'scan.startup.mode' = 'earliest-offset',
  'format' = 'json',
  'json.timestamp-format.standard' = 'ISO-8601',
  'json.fail-on-missing-field' = 'false',
  'json.ignore-parse-errors' = 'true'
);

CREATE TABLE crypto_prices (
  `v` INT,
  `symbol` STRING,
  `ts` STRING,
  `price` DOUBLE,
  `volume` DOUBLE,
  `trade_id` STRING,
  `exchange` STRING,
  `asset_class` STRING,
  `proc_time` AS PROCTIME(),
  `event_ts` AS TO_TIMESTAMP_LTZ(CASE WHEN REGEXP(`ts`, '^[0-9]{1,15}$') THEN CAST(`ts` AS BIGINT) WHEN REGEXP(`ts`, '^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])[Tt ]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]+)?([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$') THEN UNIX_TIMESTAMP(CONCAT(SUBSTRING(`ts` FROM 1 FOR 10), ' ', SUBSTRING(`ts` FROM 12 FOR 8)), 'yyyy-MM-dd HH:mm:ss') * 1000 + CAST(RPAD(COALESCE(REGEXP_EXTRACT(`ts`, '^.{19}\.([0-9]{1,3})', 1), ''), 3, '0') AS BIGINT) - CASE WHEN REGEXP(`ts`, '[+-][0-9]{2}:[0-9]{2}$') THEN (CASE WHEN SUBSTRING(`ts` FROM CHAR_LENGTH(`ts`) - 5 FOR 1) = '-' THEN -1 ELSE 1 END) * (CAST(SUBSTRING(`ts` FROM CHAR_LENGTH(`ts`) - 4 FOR 2) AS BIGINT) * 60 + CAST(SUBSTRING(`ts` FROM CHAR_LENGTH(`ts`) - 1 FOR 2) AS BIGINT)) * 60000 ELSE 0 END END, 3),
  WATERMARK FOR `event_ts` AS CASE WHEN `v` = 1 AND CHAR_LENGTH(`symbol`) BETWEEN 1 AND 64 AND NOT REGEXP(`symbol`, '[\s\p{Cntrl}]') AND `event_ts` BETWEEN TO_TIMESTAMP_LTZ(0, 3) AND TO_TIMESTAMP_LTZ(253402300499999, 3) AND `price` BETWEEN 1E-15 AND 1000000000000000 AND (`volume` = 0 OR `volume` BETWEEN 1E-15 AND 1E+18) AND `price` * `volume` <= 1E+21 THEN `event_ts` - INTERVAL '5' SECOND END
) WITH (
  'connector' = 'kafka',
  'topic' = 'crypto-prices',
  'properties.bootstrap.servers' = 'kafka:9092',
  'properties.group.id' = 'breadboard-flink',
  'scan.startup.mode' = 'earliest-offset',
  'format' = 'json',
  'json.timestamp-format.standard' = 'ISO-8601',
  'json.fail-on-missing-field' = 'false',
  'json.ignore-parse-errors' = 'true'
);

CREATE TEMPORARY VIEW ticks_all AS
SELECT `symbol`, `event_ts` AS `ts`, `price`, `volume`, `trade_id`, `proc_time`,
  CONCAT(DATE_FORMAT(`event_ts`, 'yyyy-MM-dd HH:mm:ss.SSS'), CAST(`price` AS STRING)) AS `ts_price`
FROM stock_prices
WHERE `v` = 1 AND CHAR_LENGTH(`symbol`) BETWEEN 1 AND 64 AND NOT REGEXP(`symbol`, '[\s\p{Cntrl}]') AND `event_ts` BETWEEN TO_TIMESTAMP_LTZ(0, 3) AND TO_TIMESTAMP_LTZ(253402300499999, 3) AND `price` BETWEEN 1E-15 AND 1000000000000000 AND (`volume` = 0 OR `volume` BETWEEN 1E-15 AND 1E+18) AND `price` * `volume` <= 1E+21
UNION ALL
SELECT `symbol`, `event_ts` AS `ts`, `price`, `volume`, `trade_id`, `proc_time`,
  CONCAT(DATE_FORMAT(`event_ts`, 'yyyy-MM-dd HH:mm:ss.SSS'), CAST(`price` AS STRING)) AS `ts_price`
FROM crypto_prices
WHERE `v` = 1 AND CHAR_LENGTH(`symbol`) BETWEEN 1 AND 64 AND NOT REGEXP(`symbol`, '[\s\p{Cntrl}]') AND `event_ts` BETWEEN TO_TIMESTAMP_LTZ(0, 3) AND TO_TIMESTAMP_LTZ(253402300499999, 3) AND `price` BETWEEN 1E-15 AND 1000000000000000 AND (`volume` = 0 OR `volume` BETWEEN 1E-15 AND 1E+18) AND `price` * `volume` <= 1E+21;

CREATE TEMPORARY VIEW ticks AS
SELECT `symbol`, `ts`, `price`, `volume`, `ts_price`
FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY `symbol`, `trade_id` ORDER BY `proc_time` ASC) AS `rn`
  FROM ticks_all
  WHERE `trade_id` IS NOT NULL
)
WHERE `rn` = 1
UNION ALL
SELECT `symbol`, `ts`, `price`, `volume`, `ts_price`
FROM ticks_all
WHERE `trade_id` IS NULL;

CREATE TEMPORARY VIEW bars_0 AS
-- window '1m': tumbling
SELECT
  `symbol`,
  `window_start`,
  `window_end`,
  `window_time`,
  CAST(SUBSTRING(MIN(`ts_price`) FROM 24) AS DOUBLE) AS `open`,
  MAX(`price`) AS `high`,
  MIN(`price`) AS `low`,
  CAST(SUBSTRING(MAX(`ts_price`) FROM 24) AS DOUBLE) AS `close`,
  SUM(`volume`) AS `volume`,
  CASE WHEN SUM(`volume`) = 0 THEN CAST(NULL AS DOUBLE) ELSE SUM(`price` * `volume`) / SUM(`volume`) END AS `vwap`,
  COUNT(*) AS `trades`
FROM TABLE(TUMBLE(TABLE ticks, DESCRIPTOR(`ts`), INTERVAL '1' MINUTE))
GROUP BY `symbol`, `window_start`, `window_end`, `window_time`;

CREATE TEMPORARY VIEW bars_1 AS
-- window '5m': hopping
SELECT
  `symbol`,
  `window_start`,
  `window_end`,
  `window_time`,
  CAST(SUBSTRING(MIN(`ts_price`) FROM 24) AS DOUBLE) AS `open`,
  MAX(`price`) AS `high`,
  MIN(`price`) AS `low`,
  CAST(SUBSTRING(MAX(`ts_price`) FROM 24) AS DOUBLE) AS `close`,
  SUM(`volume`) AS `volume`,
  CASE WHEN SUM(`volume`) = 0 THEN CAST(NULL AS DOUBLE) ELSE SUM(`price` * `volume`) / SUM(`volume`) END AS `vwap`,
  COUNT(*) AS `trades`
FROM TABLE(HOP(TABLE ticks, DESCRIPTOR(`ts`), INTERVAL '1' MINUTE, INTERVAL '5' MINUTE))
GROUP BY `symbol`, `window_start`, `window_end`, `window_time`;

CREATE TEMPORARY VIEW bars_2 AS
-- window 'session': session
SELECT
  `symbol`,
  `window_start`,
  `window_end` + INTERVAL '0.001' SECOND AS `window_end`,
  `window_time`,
  CAST(SUBSTRING(MIN(`ts_price`) FROM 24) AS DOUBLE) AS `open`,
  MAX(`price`) AS `high`,
  MIN(`price`) AS `low`,
  CAST(SUBSTRING(MAX(`ts_price`) FROM 24) AS DOUBLE) AS `close`,
  SUM(`volume`) AS `volume`,
  CASE WHEN SUM(`volume`) = 0 THEN CAST(NULL AS DOUBLE) ELSE SUM(`price` * `volume`) / SUM(`volume`) END AS `vwap`,
  COUNT(*) AS `trades`
FROM TABLE(SESSION(TABLE ticks PARTITION BY `symbol`, DESCRIPTOR(`ts`), INTERVAL '29.999' SECOND))
GROUP BY `symbol`, `window_start`, `window_end`, `window_time`;

CREATE TEMPORARY VIEW alerts_0 AS
-- rule 'price_drop': price_change over window '5m', (close - open) / open * 100 <= -5
SELECT
  CAST('price_drop' AS STRING) AS `rule`,
  CONCAT('price_drop:', `symbol`, ':5m:', CAST(UNIX_TIMESTAMP(DATE_FORMAT(`window_start`, 'yyyy-MM-dd HH:mm:ss')) * 1000 + CAST(DATE_FORMAT(`window_start`, 'SSS') AS BIGINT) AS STRING)) AS `id`,
  `symbol`, `window_start`, `window_end`, `value`, CAST(-5 AS DOUBLE) AS `threshold`
FROM (
  SELECT `symbol`, `window_start`, `window_end`, (`close` - `open`) / `open` * 100 AS `value`
  FROM bars_1
)
WHERE `value` <= -5;

CREATE TEMPORARY VIEW alerts_1 AS
-- rule 'price_spike': price_change over window '5m', (close - open) / open * 100 >= 5
SELECT
  CAST('price_spike' AS STRING) AS `rule`,
  CONCAT('price_spike:', `symbol`, ':5m:', CAST(UNIX_TIMESTAMP(DATE_FORMAT(`window_start`, 'yyyy-MM-dd HH:mm:ss')) * 1000 + CAST(DATE_FORMAT(`window_start`, 'SSS') AS BIGINT) AS STRING)) AS `id`,
  `symbol`, `window_start`, `window_end`, `value`, CAST(5 AS DOUBLE) AS `threshold`
FROM (
  SELECT `symbol`, `window_start`, `window_end`, (`close` - `open`) / `open` * 100 AS `value`
  FROM bars_1
)
WHERE `value` >= 5;

CREATE TEMPORARY VIEW alerts_2 AS
-- rule 'volume_surge': volume_surge over window '1m', volume >= 5 x the mean of the previous 20 bars
SELECT
  CAST('volume_surge' AS STRING) AS `rule`,
  CONCAT('volume_surge:', `symbol`, ':1m:', CAST(UNIX_TIMESTAMP(DATE_FORMAT(`window_start`, 'yyyy-MM-dd HH:mm:ss')) * 1000 + CAST(DATE_FORMAT(`window_start`, 'SSS') AS BIGINT) AS STRING)) AS `id`,
  `symbol`, `window_start`, `window_end`, `value`, CAST(5 AS DOUBLE) AS `threshold`
FROM (
  SELECT `symbol`, `window_start`, `window_end`,
    `volume` / ((`sum_volume` - `volume`) / 20) AS `value`
  FROM (
    SELECT `symbol`, `window_start`, `window_end`, `volume`,
      SUM(`volume`) OVER w AS `sum_volume`,
      COUNT(*) OVER w AS `bars`
    FROM bars_0
    WINDOW w AS (PARTITION BY `symbol` ORDER BY `window_time` ROWS BETWEEN 20 PRECEDING AND CURRENT ROW)
  )
  WHERE `bars` = 21 AND `sum_volume` - `volume` > 0
)
WHERE `value` >= 5;

CREATE TABLE bars_sink (
  `kafka_key` STRING,
  `symbol` STRING,
  `window` STRING,
  `window_start` STRING,
  `window_end` STRING,
  `open` DOUBLE,
  `high` DOUBLE,
  `low` DOUBLE,
  `close` DOUBLE,
  `volume` DOUBLE,
  `vwap` DOUBLE,
  `trades` BIGINT
) WITH (
  'connector' = 'kafka',
  'topic' = 'bars',
  'properties.bootstrap.servers' = 'kafka:9092',
  'properties.transaction.timeout.ms' = '900000',
  'key.format' = 'raw',
  'key.fields' = 'kafka_key',
  'value.format' = 'json',
  'value.fields-include' = 'EXCEPT_KEY',
  'sink.delivery-guarantee' = 'exactly-once',
  'sink.transactional-id-prefix' = 'breadboard-flink-bars'
);

CREATE TABLE alerts_sink (
  `kafka_key` STRING,
  `id` STRING,
  `rule` STRING,
  `symbol` STRING,
  `window` STRING,
  `window_start` STRING,
  `window_end` STRING,
  `value` DOUBLE,
  `threshold` DOUBLE,
  `ts` STRING,
  `pipeline` STRING
) WITH (
  'connector' = 'kafka',
  'topic' = 'alerts',
  'properties.bootstrap.servers' = 'kafka:9092',
  'properties.transaction.timeout.ms' = '900000',
  'key.format' = 'raw',
  'key.fields' = 'kafka_key',
  'value.format' = 'json',
  'value.fields-include' = 'EXCEPT_KEY',
  'sink.delivery-guarantee' = 'exactly-once',
  'sink.transactional-id-prefix' = 'breadboard-flink-alerts'
);

EXECUTE STATEMENT SET
BEGIN
INSERT INTO bars_sink
SELECT
  CONCAT(`symbol`, '|', '1m', '|', CAST(UNIX_TIMESTAMP(DATE_FORMAT(`window_start`, 'yyyy-MM-dd HH:mm:ss')) * 1000 + CAST(DATE_FORMAT(`window_start`, 'SSS') AS BIGINT) AS STRING)),
  `symbol`,
  CAST('1m' AS STRING),
  DATE_FORMAT(`window_start`, 'yyyy-MM-dd''T''HH:mm:ss.SSS''Z'''),
  DATE_FORMAT(`window_end`, 'yyyy-MM-dd''T''HH:mm:ss.SSS''Z'''),
  `open`,
  `high`,
  `low`,
  `close`,
  `volume`,
  `vwap`,
  `trades`
FROM bars_0
UNION ALL
SELECT
  CONCAT(`symbol`, '|', '5m', '|', CAST(UNIX_TIMESTAMP(DATE_FORMAT(`window_start`, 'yyyy-MM-dd HH:mm:ss')) * 1000 + CAST(DATE_FORMAT(`window_start`, 'SSS') AS BIGINT) AS STRING)),
  `symbol`,
  CAST('5m' AS STRING),
  DATE_FORMAT(`window_start`, 'yyyy-MM-dd''T''HH:mm:ss.SSS''Z'''),
  DATE_FORMAT(`window_end`, 'yyyy-MM-dd''T''HH:mm:ss.SSS''Z'''),
  `open`,
  `high`,
  `low`,
  `close`,
  `volume`,
  `vwap`,
  `trades`
FROM bars_1
UNION ALL
SELECT
  CONCAT(`symbol`, '|', 'session', '|', CAST(UNIX_TIMESTAMP(DATE_FORMAT(`window_start`, 'yyyy-MM-dd HH:mm:ss')) * 1000 + CAST(DATE_FORMAT(`window_start`, 'SSS') AS BIGINT) AS STRING)),
  `symbol`,
  CAST('session' AS STRING),
  DATE_FORMAT(`window_start`, 'yyyy-MM-dd''T''HH:mm:ss.SSS''Z'''),
  DATE_FORMAT(`window_end`, 'yyyy-MM-dd''T''HH:mm:ss.SSS''Z'''),
  `open`,
  `high`,
  `low`,
  `close`,
  `volume`,
  `vwap`,
  `trades`
FROM bars_2;
INSERT INTO alerts_sink
SELECT
  `id`,
  `id`,
  `rule`,
  `symbol`,
  CAST('5m' AS STRING),
  DATE_FORMAT(`window_start`, 'yyyy-MM-dd''T''HH:mm:ss.SSS''Z'''),
  DATE_FORMAT(`window_end`, 'yyyy-MM-dd''T''HH:mm:ss.SSS''Z'''),
  `value`,
  `threshold`,
  DATE_FORMAT(`window_end`, 'yyyy-MM-dd''T''HH:mm:ss.SSS''Z'''),
  CAST('6cf59dc19cf8217a' AS STRING)
FROM alerts_0
UNION ALL
SELECT
  `id`,
  `id`,
  `rule`,
  `symbol`,
  CAST('5m' AS STRING),
  DATE_FORMAT(`window_start`, 'yyyy-MM-dd''T''HH:mm:ss.SSS''Z'''),
  DATE_FORMAT(`window_end`, 'yyyy-MM-dd''T''HH:mm:ss.SSS''Z'''),
  `value`,
  `threshold`,
  DATE_FORMAT(`window_end`, 'yyyy-MM-dd''T''HH:mm:ss.SSS''Z'''),
  CAST('6cf59dc19cf8217a' AS STRING)
FROM alerts_1
UNION ALL
SELECT
  `id`,
  `id`,
  `rule`,
  `symbol`,
  CAST('1m' AS STRING),
  DATE_FORMAT(`window_start`, 'yyyy-MM-dd''T''HH:mm:ss.SSS''Z'''),
  DATE_FORMAT(`window_end`, 'yyyy-MM-dd''T''HH:mm:ss.SSS''Z'''),
  `value`,
  `threshold`,
  DATE_FORMAT(`window_end`, 'yyyy-MM-dd''T''HH:mm:ss.SSS''Z'''),
  CAST('6cf59dc19cf8217a' AS STRING)
FROM alerts_2;
END;
