-- Breadboard pipeline compiled to Flink SQL (Breadboard.Flink.FlinkSqlCompiler). Do not edit: regenerate.
-- Targets Apache Flink 1.20 (LTS) with the Kafka SQL connector flink-sql-connector-kafka 3.3.0-1.20.
-- Also valid for Flink 1.19. Not for 1.18 or older: the SESSION window table-valued function arrived in 1.19.
-- Pipeline: ooo=5000;dedup=600000;window=1m,Tumbling,60000,60000,0;indicator=sma_fast,sma,1m,close,3,0;indicator=sma_slow,sma,1m,close,8,0;indicator=bb,bollinger,1m,close,6,2;indicator=vol_z,zscore,1m,volume,5,0;indicator=vwap_avg,sma,1m,vwap,2,0;indicator=vol_z_avg,sma,1m,vol_z,3,0;indicator=last,sma,1m,close,1,0;indicator=ema12,ema,1m,close,12,0;rule=golden_cross,Expression,1m,1,crosses_above(sma_fast, sma_slow);rule=band_break,Expression,1m,1,crosses_below(close, bb.lower) or close > bb.upper;rule=volume_anomaly,Expression,1m,3,vol_z >= 0.5 and close > open;rule=momentum,Expression,1m,1,change_pct(close, 2) > 0.05 and not (prev(close, 1) > close);rule=nested,Expression,1m,1,prev(change_pct(close, 1), 2) < -0.03 or crosses_above(prev(sma_fast, 1), sma_slow);rule=vwap_rise,Expression,1m,1,vwap_avg > prev(vwap_avg, 1) * 1.0001;rule=quiet,Expression,1m,2,not (vol_z_avg > 0.5);rule=arithmetic,Expression,1m,1,trades / 2 >= 1.5 or volume / (trades - trades) > 0 or -last == -close and high - low != 0;rule=price_drop,PriceChange,1m,LessOrEqual,-1,0
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
-- * Indicators are computed only where a rule reads them: Flink writes bars and alerts, not indicator values.
-- * sma, zscore and bollinger add their window's values oldest first and take the two-pass deviation, as the
--   local engine does: the same doubles (error bound 0), so in-order input gives the same alerts. ema, rsi
--   and atr are recursive over every earlier bar and refused; so is a period above 200.
-- * An alert value or threshold that is undefined (NaN in the local engine) is written as null.
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
  WATERMARK FOR `event_ts` AS CASE WHEN `v` = 1 AND CHAR_LENGTH(`symbol`) BETWEEN 1 AND 64 AND NOT REGEXP(`symbol`, '[\s\p{Cntrl}]') AND `event_ts` BETWEEN TO_TIMESTAMP_LTZ(0, 3) AND TO_TIMESTAMP_LTZ(253402300739999, 3) AND `price` BETWEEN 1E-15 AND 1000000000000000 AND (`volume` = 0 OR `volume` BETWEEN 1E-15 AND 1E+18) AND `price` * `volume` <= 1E+21 THEN `event_ts` - INTERVAL '5' SECOND END
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
  WATERMARK FOR `event_ts` AS CASE WHEN `v` = 1 AND CHAR_LENGTH(`symbol`) BETWEEN 1 AND 64 AND NOT REGEXP(`symbol`, '[\s\p{Cntrl}]') AND `event_ts` BETWEEN TO_TIMESTAMP_LTZ(0, 3) AND TO_TIMESTAMP_LTZ(253402300739999, 3) AND `price` BETWEEN 1E-15 AND 1000000000000000 AND (`volume` = 0 OR `volume` BETWEEN 1E-15 AND 1E+18) AND `price` * `volume` <= 1E+21 THEN `event_ts` - INTERVAL '5' SECOND END
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
WHERE `v` = 1 AND CHAR_LENGTH(`symbol`) BETWEEN 1 AND 64 AND NOT REGEXP(`symbol`, '[\s\p{Cntrl}]') AND `event_ts` BETWEEN TO_TIMESTAMP_LTZ(0, 3) AND TO_TIMESTAMP_LTZ(253402300739999, 3) AND `price` BETWEEN 1E-15 AND 1000000000000000 AND (`volume` = 0 OR `volume` BETWEEN 1E-15 AND 1E+18) AND `price` * `volume` <= 1E+21
UNION ALL
SELECT `symbol`, `event_ts` AS `ts`, `price`, `volume`, `trade_id`, `proc_time`,
  CONCAT(DATE_FORMAT(`event_ts`, 'yyyy-MM-dd HH:mm:ss.SSS'), CAST(`price` AS STRING)) AS `ts_price`
FROM crypto_prices
WHERE `v` = 1 AND CHAR_LENGTH(`symbol`) BETWEEN 1 AND 64 AND NOT REGEXP(`symbol`, '[\s\p{Cntrl}]') AND `event_ts` BETWEEN TO_TIMESTAMP_LTZ(0, 3) AND TO_TIMESTAMP_LTZ(253402300739999, 3) AND `price` BETWEEN 1E-15 AND 1000000000000000 AND (`volume` = 0 OR `volume` BETWEEN 1E-15 AND 1E+18) AND `price` * `volume` <= 1E+21;

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

CREATE TEMPORARY VIEW indicators_0_1 AS
-- window '1m', indicator 'sma_fast': sma of close, period 3
SELECT `symbol`, `window_start`, `window_end`, `window_time`, `open`, `high`, `low`, `close`, `volume`, `vwap`, `trades`,
  (`@sma_fast#values`[1] + `@sma_fast#values`[2] + `@sma_fast#values`[3]) / 3 AS `@sma_fast`
FROM (
  SELECT *,
    CASE WHEN COUNT(*) OVER w = 3 THEN ARRAY_AGG(`close`) OVER w END AS `@sma_fast#values`
  FROM bars_0
  WINDOW w AS (PARTITION BY `symbol` ORDER BY `window_time` ROWS BETWEEN 2 PRECEDING AND CURRENT ROW)
);

CREATE TEMPORARY VIEW indicators_0_2 AS
-- window '1m', indicator 'sma_slow': sma of close, period 8
SELECT `symbol`, `window_start`, `window_end`, `window_time`, `open`, `high`, `low`, `close`, `volume`, `vwap`, `trades`, `@sma_fast`,
  (`@sma_slow#values`[1] + `@sma_slow#values`[2] + `@sma_slow#values`[3] + `@sma_slow#values`[4] + `@sma_slow#values`[5] + `@sma_slow#values`[6] + `@sma_slow#values`[7] + `@sma_slow#values`[8]) / 8 AS `@sma_slow`
FROM (
  SELECT *,
    CASE WHEN COUNT(*) OVER w = 8 THEN ARRAY_AGG(`close`) OVER w END AS `@sma_slow#values`
  FROM indicators_0_1
  WINDOW w AS (PARTITION BY `symbol` ORDER BY `window_time` ROWS BETWEEN 7 PRECEDING AND CURRENT ROW)
);

CREATE TEMPORARY VIEW indicators_0_3 AS
-- window '1m', indicator 'bb': bollinger of close, period 6, k 2
SELECT `symbol`, `window_start`, `window_end`, `window_time`, `open`, `high`, `low`, `close`, `volume`, `vwap`, `trades`, `@sma_fast`, `@sma_slow`,
  `@bb#mean` + 2E0 * `@bb#deviation` AS `@bb.upper`,
  `@bb#mean` AS `@bb.middle`,
  `@bb#mean` - 2E0 * `@bb#deviation` AS `@bb.lower`
FROM (
  SELECT *,
    SQRT(((`@bb#values`[1] - `@bb#mean`) * (`@bb#values`[1] - `@bb#mean`) + (`@bb#values`[2] - `@bb#mean`) * (`@bb#values`[2] - `@bb#mean`) + (`@bb#values`[3] - `@bb#mean`) * (`@bb#values`[3] - `@bb#mean`) + (`@bb#values`[4] - `@bb#mean`) * (`@bb#values`[4] - `@bb#mean`) + (`@bb#values`[5] - `@bb#mean`) * (`@bb#values`[5] - `@bb#mean`) + (`@bb#values`[6] - `@bb#mean`) * (`@bb#values`[6] - `@bb#mean`)) / 6) AS `@bb#deviation`
  FROM (
    SELECT *,
      (`@bb#values`[1] + `@bb#values`[2] + `@bb#values`[3] + `@bb#values`[4] + `@bb#values`[5] + `@bb#values`[6]) / 6 AS `@bb#mean`
    FROM (
      SELECT *,
        CASE WHEN COUNT(*) OVER w = 6 THEN ARRAY_AGG(`close`) OVER w END AS `@bb#values`
      FROM indicators_0_2
      WINDOW w AS (PARTITION BY `symbol` ORDER BY `window_time` ROWS BETWEEN 5 PRECEDING AND CURRENT ROW)
    )
  )
);

CREATE TEMPORARY VIEW indicators_0_4 AS
-- window '1m', indicator 'vol_z': zscore of volume, period 5
SELECT `symbol`, `window_start`, `window_end`, `window_time`, `open`, `high`, `low`, `close`, `volume`, `vwap`, `trades`, `@sma_fast`, `@sma_slow`, `@bb.upper`, `@bb.middle`, `@bb.lower`,
  CASE WHEN `@vol_z#deviation` <> 0 THEN (`@vol_z#values`[6] - `@vol_z#mean`) / `@vol_z#deviation` END AS `@vol_z`
FROM (
  SELECT *,
    SQRT(((`@vol_z#values`[1] - `@vol_z#mean`) * (`@vol_z#values`[1] - `@vol_z#mean`) + (`@vol_z#values`[2] - `@vol_z#mean`) * (`@vol_z#values`[2] - `@vol_z#mean`) + (`@vol_z#values`[3] - `@vol_z#mean`) * (`@vol_z#values`[3] - `@vol_z#mean`) + (`@vol_z#values`[4] - `@vol_z#mean`) * (`@vol_z#values`[4] - `@vol_z#mean`) + (`@vol_z#values`[5] - `@vol_z#mean`) * (`@vol_z#values`[5] - `@vol_z#mean`)) / 5) AS `@vol_z#deviation`
  FROM (
    SELECT *,
      (`@vol_z#values`[1] + `@vol_z#values`[2] + `@vol_z#values`[3] + `@vol_z#values`[4] + `@vol_z#values`[5]) / 5 AS `@vol_z#mean`
    FROM (
      SELECT *,
        CASE WHEN COUNT(*) OVER w = 6 THEN ARRAY_AGG(`volume`) OVER w END AS `@vol_z#values`
      FROM indicators_0_3
      WINDOW w AS (PARTITION BY `symbol` ORDER BY `window_time` ROWS BETWEEN 5 PRECEDING AND CURRENT ROW)
    )
  )
);

CREATE TEMPORARY VIEW indicators_0_5 AS
-- window '1m', indicator 'vwap_avg': sma of vwap, period 2
SELECT `symbol`, `window_start`, `window_end`, `window_time`, `open`, `high`, `low`, `close`, `volume`, `vwap`, `trades`, `@sma_fast`, `@sma_slow`, `@bb.upper`, `@bb.middle`, `@bb.lower`, `@vol_z`,
  (`@vwap_avg#values`[1] + `@vwap_avg#values`[2]) / 2 AS `@vwap_avg`
FROM (
  SELECT *,
    CASE WHEN COUNT(*) OVER w = 2 THEN ARRAY_AGG(`vwap`) OVER w END AS `@vwap_avg#values`
  FROM indicators_0_4
  WHERE `vwap` IS NOT NULL
  WINDOW w AS (PARTITION BY `symbol` ORDER BY `window_time` ROWS BETWEEN 1 PRECEDING AND CURRENT ROW)
)
UNION ALL
SELECT `symbol`, `window_start`, `window_end`, `window_time`, `open`, `high`, `low`, `close`, `volume`, `vwap`, `trades`, `@sma_fast`, `@sma_slow`, `@bb.upper`, `@bb.middle`, `@bb.lower`, `@vol_z`,
  CAST(NULL AS DOUBLE) AS `@vwap_avg`
FROM indicators_0_4
WHERE `vwap` IS NULL;

CREATE TEMPORARY VIEW indicators_0_6 AS
-- window '1m', indicator 'vol_z_avg': sma of vol_z, period 3
SELECT `symbol`, `window_start`, `window_end`, `window_time`, `open`, `high`, `low`, `close`, `volume`, `vwap`, `trades`, `@sma_fast`, `@sma_slow`, `@bb.upper`, `@bb.middle`, `@bb.lower`, `@vol_z`, `@vwap_avg`,
  (`@vol_z_avg#values`[1] + `@vol_z_avg#values`[2] + `@vol_z_avg#values`[3]) / 3 AS `@vol_z_avg`
FROM (
  SELECT *,
    CASE WHEN COUNT(*) OVER w = 3 THEN ARRAY_AGG(`@vol_z`) OVER w END AS `@vol_z_avg#values`
  FROM indicators_0_5
  WHERE `@vol_z` IS NOT NULL
  WINDOW w AS (PARTITION BY `symbol` ORDER BY `window_time` ROWS BETWEEN 2 PRECEDING AND CURRENT ROW)
)
UNION ALL
SELECT `symbol`, `window_start`, `window_end`, `window_time`, `open`, `high`, `low`, `close`, `volume`, `vwap`, `trades`, `@sma_fast`, `@sma_slow`, `@bb.upper`, `@bb.middle`, `@bb.lower`, `@vol_z`, `@vwap_avg`,
  CAST(NULL AS DOUBLE) AS `@vol_z_avg`
FROM indicators_0_5
WHERE `@vol_z` IS NULL;

CREATE TEMPORARY VIEW indicators_0_7 AS
-- window '1m', indicator 'last': sma of close, period 1
SELECT `symbol`, `window_start`, `window_end`, `window_time`, `open`, `high`, `low`, `close`, `volume`, `vwap`, `trades`, `@sma_fast`, `@sma_slow`, `@bb.upper`, `@bb.middle`, `@bb.lower`, `@vol_z`, `@vwap_avg`, `@vol_z_avg`,
  (`@last#values`[1]) / 1 AS `@last`
FROM (
  SELECT *,
    ARRAY[`close`] AS `@last#values`
  FROM indicators_0_6
);

CREATE TEMPORARY VIEW alerts_0 AS
-- rule 'golden_cross': expression over window '1m', crosses_above(sma_fast, sma_slow)
SELECT
  CAST('golden_cross' AS STRING) AS `rule`,
  CONCAT('golden_cross:', `symbol`, ':1m:', CAST(UNIX_TIMESTAMP(DATE_FORMAT(`window_start`, 'yyyy-MM-dd HH:mm:ss')) * 1000 + CAST(DATE_FORMAT(`window_start`, 'SSS') AS BIGINT) AS STRING)) AS `id`,
  `symbol`, `window_start`, `window_end`, `value`, `threshold` AS `threshold`
FROM (
  SELECT `symbol`, `window_start`, `window_end`, `value`, `threshold`
  FROM (
    SELECT *,
      MAX(CASE WHEN NOT `#when` THEN `#n` END) OVER w AS `#last_false`
    FROM (
      SELECT `symbol`, `window_start`, `window_end`, `window_time`, `#n`,
        COALESCE(`@sma_fast` > `@sma_slow` AND `#lag1` <= `#lag2`, FALSE) AS `#when`,
        `@sma_fast` AS `value`,
        `@sma_slow` AS `threshold`
      FROM (
        SELECT *,
          LAG(`@sma_fast`, 1) OVER w AS `#lag1`,
          LAG(`@sma_slow`, 1) OVER w AS `#lag2`,
          COUNT(*) OVER w AS `#n`
        FROM indicators_0_7
        WINDOW w AS (PARTITION BY `symbol` ORDER BY `window_time` ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
      )
    )
    WINDOW w AS (PARTITION BY `symbol` ORDER BY `window_time` ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
  )
  WHERE `#when` AND `#n` - COALESCE(`#last_false`, 0) = 1
);

CREATE TEMPORARY VIEW alerts_1 AS
-- rule 'band_break': expression over window '1m', crosses_below(close, bb.lower) or close > bb.upper
SELECT
  CAST('band_break' AS STRING) AS `rule`,
  CONCAT('band_break:', `symbol`, ':1m:', CAST(UNIX_TIMESTAMP(DATE_FORMAT(`window_start`, 'yyyy-MM-dd HH:mm:ss')) * 1000 + CAST(DATE_FORMAT(`window_start`, 'SSS') AS BIGINT) AS STRING)) AS `id`,
  `symbol`, `window_start`, `window_end`, `value`, `threshold` AS `threshold`
FROM (
  SELECT `symbol`, `window_start`, `window_end`, `value`, `threshold`
  FROM (
    SELECT *,
      MAX(CASE WHEN NOT `#when` THEN `#n` END) OVER w AS `#last_false`
    FROM (
      SELECT `symbol`, `window_start`, `window_end`, `window_time`, `#n`,
        (COALESCE(`close` < `@bb.lower` AND `#lag1` >= `#lag2`, FALSE) OR COALESCE(`close` > `@bb.upper`, FALSE)) AS `#when`,
        `close` AS `value`,
        `@bb.lower` AS `threshold`
      FROM (
        SELECT *,
          LAG(`close`, 1) OVER w AS `#lag1`,
          LAG(`@bb.lower`, 1) OVER w AS `#lag2`,
          COUNT(*) OVER w AS `#n`
        FROM indicators_0_7
        WINDOW w AS (PARTITION BY `symbol` ORDER BY `window_time` ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
      )
    )
    WINDOW w AS (PARTITION BY `symbol` ORDER BY `window_time` ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
  )
  WHERE `#when` AND `#n` - COALESCE(`#last_false`, 0) = 1
);

CREATE TEMPORARY VIEW alerts_2 AS
-- rule 'volume_anomaly': expression over window '1m', vol_z >= 0.5 and close > open for 3 bars
SELECT
  CAST('volume_anomaly' AS STRING) AS `rule`,
  CONCAT('volume_anomaly:', `symbol`, ':1m:', CAST(UNIX_TIMESTAMP(DATE_FORMAT(`window_start`, 'yyyy-MM-dd HH:mm:ss')) * 1000 + CAST(DATE_FORMAT(`window_start`, 'SSS') AS BIGINT) AS STRING)) AS `id`,
  `symbol`, `window_start`, `window_end`, `value`, `threshold` AS `threshold`
FROM (
  SELECT `symbol`, `window_start`, `window_end`, `value`, `threshold`
  FROM (
    SELECT *,
      MAX(CASE WHEN NOT `#when` THEN `#n` END) OVER w AS `#last_false`
    FROM (
      SELECT `symbol`, `window_start`, `window_end`, `window_time`, `#n`,
        (COALESCE(`@vol_z` >= 0.5E0, FALSE) AND COALESCE(`close` > `open`, FALSE)) AS `#when`,
        `@vol_z` AS `value`,
        0.5E0 AS `threshold`
      FROM (
        SELECT *,
          COUNT(*) OVER w AS `#n`
        FROM indicators_0_7
        WINDOW w AS (PARTITION BY `symbol` ORDER BY `window_time` ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
      )
    )
    WINDOW w AS (PARTITION BY `symbol` ORDER BY `window_time` ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
  )
  WHERE `#when` AND `#n` - COALESCE(`#last_false`, 0) = 3
);

CREATE TEMPORARY VIEW alerts_3 AS
-- rule 'momentum': expression over window '1m', change_pct(close, 2) > 0.05 and not (prev(close, 1) > close)
SELECT
  CAST('momentum' AS STRING) AS `rule`,
  CONCAT('momentum:', `symbol`, ':1m:', CAST(UNIX_TIMESTAMP(DATE_FORMAT(`window_start`, 'yyyy-MM-dd HH:mm:ss')) * 1000 + CAST(DATE_FORMAT(`window_start`, 'SSS') AS BIGINT) AS STRING)) AS `id`,
  `symbol`, `window_start`, `window_end`, `value`, `threshold` AS `threshold`
FROM (
  SELECT `symbol`, `window_start`, `window_end`, `value`, `threshold`
  FROM (
    SELECT *,
      MAX(CASE WHEN NOT `#when` THEN `#n` END) OVER w AS `#last_false`
    FROM (
      SELECT `symbol`, `window_start`, `window_end`, `window_time`, `#n`,
        (COALESCE(((`close` - `#lag1`) / NULLIF(`#lag1`, 0E0) * 100E0) > 0.05E0, FALSE) AND (NOT COALESCE(`#lag2` > `close`, FALSE))) AS `#when`,
        ((`close` - `#lag1`) / NULLIF(`#lag1`, 0E0) * 100E0) AS `value`,
        0.05E0 AS `threshold`
      FROM (
        SELECT *,
          LAG(`close`, 2) OVER w AS `#lag1`,
          LAG(`close`, 1) OVER w AS `#lag2`,
          COUNT(*) OVER w AS `#n`
        FROM bars_0
        WINDOW w AS (PARTITION BY `symbol` ORDER BY `window_time` ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
      )
    )
    WINDOW w AS (PARTITION BY `symbol` ORDER BY `window_time` ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
  )
  WHERE `#when` AND `#n` - COALESCE(`#last_false`, 0) = 1
);

CREATE TEMPORARY VIEW alerts_4 AS
-- rule 'nested': expression over window '1m', prev(change_pct(close, 1), 2) < -0.03 or crosses_above(prev(sma_fast, 1), sma_slow)
SELECT
  CAST('nested' AS STRING) AS `rule`,
  CONCAT('nested:', `symbol`, ':1m:', CAST(UNIX_TIMESTAMP(DATE_FORMAT(`window_start`, 'yyyy-MM-dd HH:mm:ss')) * 1000 + CAST(DATE_FORMAT(`window_start`, 'SSS') AS BIGINT) AS STRING)) AS `id`,
  `symbol`, `window_start`, `window_end`, `value`, `threshold` AS `threshold`
FROM (
  SELECT `symbol`, `window_start`, `window_end`, `value`, `threshold`
  FROM (
    SELECT *,
      MAX(CASE WHEN NOT `#when` THEN `#n` END) OVER w AS `#last_false`
    FROM (
      SELECT `symbol`, `window_start`, `window_end`, `window_time`, `#n`,
        (COALESCE(`#lag2` < (- 0.03E0), FALSE) OR COALESCE(`#lag3` > `@sma_slow` AND `#lag4` <= `#lag5`, FALSE)) AS `#when`,
        `#lag2` AS `value`,
        (- 0.03E0) AS `threshold`
      FROM (
        SELECT *,
          LAG(((`close` - `#lag1`) / NULLIF(`#lag1`, 0E0) * 100E0), 2) OVER w AS `#lag2`,
          LAG(`#lag3`, 1) OVER w AS `#lag4`,
          LAG(`@sma_slow`, 1) OVER w AS `#lag5`
        FROM (
          SELECT *,
            LAG(`close`, 1) OVER w AS `#lag1`,
            LAG(`@sma_fast`, 1) OVER w AS `#lag3`,
            COUNT(*) OVER w AS `#n`
          FROM indicators_0_7
          WINDOW w AS (PARTITION BY `symbol` ORDER BY `window_time` ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
        )
        WINDOW w AS (PARTITION BY `symbol` ORDER BY `window_time` ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
      )
    )
    WINDOW w AS (PARTITION BY `symbol` ORDER BY `window_time` ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
  )
  WHERE `#when` AND `#n` - COALESCE(`#last_false`, 0) = 1
);

CREATE TEMPORARY VIEW alerts_5 AS
-- rule 'vwap_rise': expression over window '1m', vwap_avg > prev(vwap_avg, 1) * 1.0001
SELECT
  CAST('vwap_rise' AS STRING) AS `rule`,
  CONCAT('vwap_rise:', `symbol`, ':1m:', CAST(UNIX_TIMESTAMP(DATE_FORMAT(`window_start`, 'yyyy-MM-dd HH:mm:ss')) * 1000 + CAST(DATE_FORMAT(`window_start`, 'SSS') AS BIGINT) AS STRING)) AS `id`,
  `symbol`, `window_start`, `window_end`, `value`, `threshold` AS `threshold`
FROM (
  SELECT `symbol`, `window_start`, `window_end`, `value`, `threshold`
  FROM (
    SELECT *,
      MAX(CASE WHEN NOT `#when` THEN `#n` END) OVER w AS `#last_false`
    FROM (
      SELECT `symbol`, `window_start`, `window_end`, `window_time`, `#n`,
        COALESCE(`@vwap_avg` > (`#lag1` * 1.0001E0), FALSE) AS `#when`,
        `@vwap_avg` AS `value`,
        (`#lag1` * 1.0001E0) AS `threshold`
      FROM (
        SELECT *,
          LAG(`@vwap_avg`, 1) OVER w AS `#lag1`,
          COUNT(*) OVER w AS `#n`
        FROM indicators_0_7
        WINDOW w AS (PARTITION BY `symbol` ORDER BY `window_time` ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
      )
    )
    WINDOW w AS (PARTITION BY `symbol` ORDER BY `window_time` ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
  )
  WHERE `#when` AND `#n` - COALESCE(`#last_false`, 0) = 1
);

CREATE TEMPORARY VIEW alerts_6 AS
-- rule 'quiet': expression over window '1m', not (vol_z_avg > 0.5) for 2 bars
SELECT
  CAST('quiet' AS STRING) AS `rule`,
  CONCAT('quiet:', `symbol`, ':1m:', CAST(UNIX_TIMESTAMP(DATE_FORMAT(`window_start`, 'yyyy-MM-dd HH:mm:ss')) * 1000 + CAST(DATE_FORMAT(`window_start`, 'SSS') AS BIGINT) AS STRING)) AS `id`,
  `symbol`, `window_start`, `window_end`, `value`, `threshold` AS `threshold`
FROM (
  SELECT `symbol`, `window_start`, `window_end`, `value`, `threshold`
  FROM (
    SELECT *,
      MAX(CASE WHEN NOT `#when` THEN `#n` END) OVER w AS `#last_false`
    FROM (
      SELECT `symbol`, `window_start`, `window_end`, `window_time`, `#n`,
        (NOT COALESCE(`@vol_z_avg` > 0.5E0, FALSE)) AS `#when`,
        `@vol_z_avg` AS `value`,
        0.5E0 AS `threshold`
      FROM (
        SELECT *,
          COUNT(*) OVER w AS `#n`
        FROM indicators_0_7
        WINDOW w AS (PARTITION BY `symbol` ORDER BY `window_time` ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
      )
    )
    WINDOW w AS (PARTITION BY `symbol` ORDER BY `window_time` ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
  )
  WHERE `#when` AND `#n` - COALESCE(`#last_false`, 0) = 2
);

CREATE TEMPORARY VIEW alerts_7 AS
-- rule 'arithmetic': expression over window '1m', trades / 2 >= 1.5 or volume / (trades - trades) > 0 or -last == -close and high - low != 0
SELECT
  CAST('arithmetic' AS STRING) AS `rule`,
  CONCAT('arithmetic:', `symbol`, ':1m:', CAST(UNIX_TIMESTAMP(DATE_FORMAT(`window_start`, 'yyyy-MM-dd HH:mm:ss')) * 1000 + CAST(DATE_FORMAT(`window_start`, 'SSS') AS BIGINT) AS STRING)) AS `id`,
  `symbol`, `window_start`, `window_end`, `value`, `threshold` AS `threshold`
FROM (
  SELECT `symbol`, `window_start`, `window_end`, `value`, `threshold`
  FROM (
    SELECT *,
      MAX(CASE WHEN NOT `#when` THEN `#n` END) OVER w AS `#last_false`
    FROM (
      SELECT `symbol`, `window_start`, `window_end`, `window_time`, `#n`,
        ((COALESCE((CAST(`trades` AS DOUBLE) / 2E0) >= 1.5E0, FALSE) OR COALESCE((`volume` / NULLIF((CAST(`trades` AS DOUBLE) - CAST(`trades` AS DOUBLE)), 0E0)) > 0E0, FALSE)) OR (COALESCE((- `@last`) = (- `close`), FALSE) AND COALESCE((`high` - `low`) <> 0E0, FALSE))) AS `#when`,
        (CAST(`trades` AS DOUBLE) / 2E0) AS `value`,
        1.5E0 AS `threshold`
      FROM (
        SELECT *,
          COUNT(*) OVER w AS `#n`
        FROM indicators_0_7
        WINDOW w AS (PARTITION BY `symbol` ORDER BY `window_time` ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
      )
    )
    WINDOW w AS (PARTITION BY `symbol` ORDER BY `window_time` ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
  )
  WHERE `#when` AND `#n` - COALESCE(`#last_false`, 0) = 1
);

CREATE TEMPORARY VIEW alerts_8 AS
-- rule 'price_drop': price_change over window '1m', (close - open) / open * 100 <= -1
SELECT
  CAST('price_drop' AS STRING) AS `rule`,
  CONCAT('price_drop:', `symbol`, ':1m:', CAST(UNIX_TIMESTAMP(DATE_FORMAT(`window_start`, 'yyyy-MM-dd HH:mm:ss')) * 1000 + CAST(DATE_FORMAT(`window_start`, 'SSS') AS BIGINT) AS STRING)) AS `id`,
  `symbol`, `window_start`, `window_end`, `value`, CAST(-1 AS DOUBLE) AS `threshold`
FROM (
  SELECT `symbol`, `window_start`, `window_end`, (`close` - `open`) / `open` * 100 AS `value`
  FROM bars_0
)
WHERE `value` <= -1;

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
FROM bars_0;
INSERT INTO alerts_sink
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
  CAST('151fa576a210fc9e' AS STRING)
FROM alerts_0
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
  CAST('151fa576a210fc9e' AS STRING)
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
  CAST('151fa576a210fc9e' AS STRING)
FROM alerts_2
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
  CAST('151fa576a210fc9e' AS STRING)
FROM alerts_3
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
  CAST('151fa576a210fc9e' AS STRING)
FROM alerts_4
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
  CAST('151fa576a210fc9e' AS STRING)
FROM alerts_5
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
  CAST('151fa576a210fc9e' AS STRING)
FROM alerts_6
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
  CAST('151fa576a210fc9e' AS STRING)
FROM alerts_7
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
  CAST('151fa576a210fc9e' AS STRING)
FROM alerts_8;
END;
