// Time-series charts with uPlot (loaded from /vendor as a classic script: window.uPlot).

const uPlot = window.uPlot;

function widthOf(el) {
  return Math.max(240, Math.floor(el.getBoundingClientRect().width || 600) - 8);
}

/**
 * A line chart over epoch-ms timestamps. `series` names the lines; `scales` maps a line to a y scale so a
 * rate and a backlog can share one chart. Returns { set(columns) } where columns = [ts[], ...values[]].
 */
export function lineChart(el, { title, series, scales = {}, height = 200 }) {
  const opts = {
    title,
    width: widthOf(el),
    height,
    // The legend names the lines; hover values are not needed on a small screen.
    legend: { live: false },
    scales: { x: { time: true } },
    axes: [{}, { scale: 'y', size: 60 }],
    series: [
      { value: (_u, v) => (v == null ? '' : new Date(v * 1000).toLocaleTimeString()) },
      ...series.map((label, i) => ({
        label,
        scale: scales[label] ?? 'y',
        stroke: ['#0969da', '#1a7f37', '#bf3989', '#9a6700'][i % 4],
        width: 1.5,
        points: { show: false },
      })),
    ],
  };
  if (Object.values(scales).includes('y2'))
    opts.axes.push({ scale: 'y2', side: 1, size: 50, grid: { show: false } });
  const empty = [[], ...series.map(() => [])];
  const plot = new uPlot(opts, empty, el);
  const resize = () => plot.setSize({ width: widthOf(el), height });
  window.addEventListener('resize', resize);
  return {
    set(columns) {
      // uPlot's time axis is in seconds.
      plot.setData([columns[0].map((ms) => ms / 1000), ...columns.slice(1)]);
    },
    destroy() {
      window.removeEventListener('resize', resize);
      plot.destroy();
    },
  };
}
