// Draws the capacity page's history with uPlot, from the JSON the server embedded in the page.
(() => {
  const el = document.getElementById('history-data');
  const target = document.getElementById('history');
  if (el === null || target === null || typeof uPlot === 'undefined') return;
  const h = JSON.parse(el.textContent || '{}');
  if (!Array.isArray(h.t) || h.t.length === 0) {
    target.textContent = 'No history yet: the service records a point every minute.';
    return;
  }
  const colors = { public: '#8e9aaf', vpn: '#3b7ddd', 'vpn-bastion': '#7b4fd6', limit: '#d9534f' };
  const series = [{}];
  const data = [h.t];
  for (const name of Object.keys(h.tiers)) {
    series.push({ label: name, stroke: colors[name] || '#555', width: 2 });
    data.push(h.tiers[name]);
  }
  series.push({ label: 'limit', stroke: colors.limit, dash: [6, 4], width: 1 });
  data.push(h.limit);
  // The window is fixed (the last hours up to now), so a young history is drawn to scale.
  const opts = {
    width: Math.min(940, target.clientWidth || 900),
    height: 220,
    series,
    scales: { x: { time: true, range: () => [h.from, h.to] } },
  };
  new uPlot(opts, data, target);
})();
