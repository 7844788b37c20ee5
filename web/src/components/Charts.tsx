// Charts drawn with TradingView's lightweight-charts (its attribution logo stays on, as its
// licence asks): candles with volume, and a portfolio's value over time.

import {
  AreaSeries,
  CandlestickSeries,
  ColorType,
  HistogramSeries,
  createChart,
  type IChartApi,
  type ISeriesApi,
  type UTCTimestamp,
} from "lightweight-charts";
import { useEffect, useRef } from "react";
import * as D from "../decimal";
import type { Candle } from "../types";

const UP = "#26a69a";
const DOWN = "#ef5350";

function seconds(iso: string): UTCTimestamp {
  return Math.floor(Date.parse(iso) / 1000) as UTCTimestamp;
}

function themed(): { background: string; text: string; grid: string } {
  const dark = document.documentElement.dataset.theme === "dark" || (!document.documentElement.dataset.theme && matchMedia("(prefers-color-scheme: dark)").matches);
  return dark ? { background: "#13171f", text: "#c2c7d0", grid: "#222833" } : { background: "#ffffff", text: "#373c44", grid: "#eef0f3" };
}

function newChart(element: HTMLElement): IChartApi {
  const colours = themed();
  return createChart(element, {
    // Fills its box (fixed height, the page's width) and follows it when it resizes.
    autoSize: true,
    layout: { background: { type: ColorType.Solid, color: colours.background }, textColor: colours.text, attributionLogo: true },
    grid: { vertLines: { color: colours.grid }, horzLines: { color: colours.grid } },
    timeScale: { timeVisible: true, secondsVisible: false },
  });
}

/** Candles and volume; `candles` may change in place (a live update) or all at once. */
export function CandleChart({ candles, height = 360, label }: { candles: Candle[]; height?: number; label: string }) {
  const element = useRef<HTMLDivElement>(null);
  const series = useRef<{ chart: IChartApi; price: ISeriesApi<"Candlestick">; volume: ISeriesApi<"Histogram">; count: number; first: string | null } | null>(null);

  useEffect(() => {
    if (!element.current) return;
    const chart = newChart(element.current);
    const price = chart.addSeries(CandlestickSeries, { upColor: UP, downColor: DOWN, borderVisible: false, wickUpColor: UP, wickDownColor: DOWN });
    const volume = chart.addSeries(HistogramSeries, { priceScaleId: "", priceFormat: { type: "volume" } });
    volume.priceScale().applyOptions({ scaleMargins: { top: 0.8, bottom: 0 } });
    series.current = { chart, price, volume, count: 0, first: null };
    return () => {
      chart.remove();
      series.current = null;
    };
  }, [height]);

  useEffect(() => {
    const current = series.current;
    if (!current) return;
    const bar = (candle: Candle) => ({
      time: seconds(candle.start),
      open: D.toNumber(D.of(candle.open)),
      high: D.toNumber(D.of(candle.high)),
      low: D.toNumber(D.of(candle.low)),
      close: D.toNumber(D.of(candle.close)),
    });
    const volume = (candle: Candle) => ({
      time: seconds(candle.start),
      value: D.toNumber(D.of(candle.volume)),
      color: D.compare(D.of(candle.close), D.of(candle.open)) >= 0 ? `${UP}80` : `${DOWN}80`,
    });
    const last = candles[candles.length - 1];
    const sameStart = (candles[0]?.start ?? null) === current.first;
    if (last && sameStart && (candles.length === current.count || candles.length === current.count + 1) && current.count > 0) {
      // A live trade: update the last bar (or add one) without redrawing the rest.
      current.price.update(bar(last));
      current.volume.update(volume(last));
    } else {
      current.price.setData(candles.map(bar));
      current.volume.setData(candles.map(volume));
      current.chart.timeScale().fitContent();
    }
    current.count = candles.length;
    current.first = candles[0]?.start ?? null;
    element.current?.setAttribute("data-bars", String(candles.length));
    element.current?.setAttribute("data-last-close", last?.close ?? "");
  }, [candles]);

  return <div ref={element} className="chart" style={{ height }} role="img" aria-label={label} data-testid="candle-chart" />;
}

/** A value over time (the portfolio's), as an area. */
export function ValueChart({ points, height = 260, label }: { points: { timestamp: string; value: string }[]; height?: number; label: string }) {
  const element = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!element.current) return;
    const chart = newChart(element.current);
    const area = chart.addSeries(AreaSeries, { lineColor: "#1e88e5", topColor: "#1e88e566", bottomColor: "#1e88e505", lineWidth: 2 });
    // One point per second at most: the chart needs strictly increasing times.
    const byTime = new Map<number, number>();
    for (const point of points) byTime.set(seconds(point.timestamp), D.toNumber(D.of(point.value)));
    area.setData([...byTime.entries()].sort(([a], [b]) => a - b).map(([time, value]) => ({ time: time as UTCTimestamp, value })));
    chart.timeScale().fitContent();
    return () => chart.remove();
  }, [points, height]);
  return <div ref={element} className="chart" style={{ height }} role="img" aria-label={label} />;
}

/** A small line of recent prices (display only). */
export function Sparkline({ values, width = 120, height = 32 }: { values: number[]; width?: number; height?: number }) {
  if (values.length < 2) return <svg width={width} height={height} aria-hidden="true" className="sparkline" />;
  const low = Math.min(...values);
  const high = Math.max(...values);
  const span = high - low || 1;
  const step = width / (values.length - 1);
  const path = values.map((value, index) => `${(index * step).toFixed(1)},${(height - 2 - ((value - low) / span) * (height - 4)).toFixed(1)}`).join(" ");
  const rising = (values[values.length - 1] ?? 0) >= (values[0] ?? 0);
  return (
    <svg width={width} height={height} viewBox={`0 0 ${width} ${height}`} aria-hidden="true" className="sparkline">
      <polyline points={path} fill="none" stroke={rising ? UP : DOWN} strokeWidth="1.5" />
    </svg>
  );
}
