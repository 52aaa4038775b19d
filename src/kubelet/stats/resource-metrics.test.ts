import assert from 'node:assert/strict'
import { test } from 'node:test'
import { formatValue, resourceMetricsText } from './resource-metrics.ts'
import type { Summary } from './types.ts'

const summary: Summary = {
  node: {
    nodeName: 'node-1',
    startTime: '2026-01-01T00:00:00.000Z',
    cpu: { time: '2026-01-01T00:01:00.500Z', usageCoreNanoSeconds: 12_500_000_000, usageNanoCores: 1000 },
    memory: { time: '2026-01-01T00:01:00.500Z', workingSetBytes: 83_886_080 },
  },
  pods: [
    {
      podRef: { name: 'web', namespace: 'default', uid: 'u1' },
      startTime: '2026-01-01T00:00:10.000Z',
      cpu: { time: '2026-01-01T00:01:00.250Z', usageCoreNanoSeconds: 500_000_000 },
      memory: { time: '2026-01-01T00:01:00.250Z', workingSetBytes: 8_388_608 },
      containers: [
        {
          name: 'app',
          startTime: '2026-01-01T00:00:11.000Z',
          cpu: { time: '2026-01-01T00:01:00.250Z', usageCoreNanoSeconds: 500_000_000 },
          memory: { time: '2026-01-01T00:01:00.250Z', workingSetBytes: 8_388_608 },
        },
      ],
    },
  ],
}

test('the resource metrics of a node with one pod, in Prometheus text with sample times', () => {
  assert.equal(
    resourceMetricsText(summary),
    [
      '# HELP container_cpu_usage_seconds_total [STABLE] Cumulative cpu time consumed by the container in core-seconds',
      '# TYPE container_cpu_usage_seconds_total counter',
      'container_cpu_usage_seconds_total{container="app",namespace="default",pod="web"} 0.5 1767225660250',
      '# HELP container_memory_working_set_bytes [STABLE] Current working set of the container in bytes',
      '# TYPE container_memory_working_set_bytes gauge',
      'container_memory_working_set_bytes{container="app",namespace="default",pod="web"} 8.388608e+06 1767225660250',
      '# HELP container_start_time_seconds [STABLE] Start time of the container since unix epoch in seconds',
      '# TYPE container_start_time_seconds gauge',
      'container_start_time_seconds{container="app",namespace="default",pod="web"} 1.767225611e+09 1767225611000',
      '# HELP node_cpu_usage_seconds_total [STABLE] Cumulative cpu time consumed by the node in core-seconds',
      '# TYPE node_cpu_usage_seconds_total counter',
      'node_cpu_usage_seconds_total 12.5 1767225660500',
      '# HELP node_memory_working_set_bytes [STABLE] Current working set of the node in bytes',
      '# TYPE node_memory_working_set_bytes gauge',
      'node_memory_working_set_bytes 8.388608e+07 1767225660500',
      '# HELP pod_cpu_usage_seconds_total [STABLE] Cumulative cpu time consumed by the pod in core-seconds',
      '# TYPE pod_cpu_usage_seconds_total counter',
      'pod_cpu_usage_seconds_total{namespace="default",pod="web"} 0.5 1767225660250',
      '# HELP pod_memory_working_set_bytes [STABLE] Current working set of the pod in bytes',
      '# TYPE pod_memory_working_set_bytes gauge',
      'pod_memory_working_set_bytes{namespace="default",pod="web"} 8.388608e+06 1767225660250',
      '# HELP resource_scrape_error [STABLE] 1 if there was an error while getting container metrics, 0 otherwise',
      '# TYPE resource_scrape_error gauge',
      'resource_scrape_error 0',
      '# HELP scrape_error [ALPHA] 1 if there was an error while getting container metrics, 0 otherwise',
      '# TYPE scrape_error gauge',
      'scrape_error 0',
      '',
    ].join('\n'),
  )
})

test('a failed read of the stats is reported as a scrape error and nothing else', () => {
  const samples = resourceMetricsText(undefined)
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('#'))
  assert.deepEqual(samples, ['resource_scrape_error 1', 'scrape_error 1'])
})

const values = [
  { name: 'integers below a million are plain', v: 123456, want: '123456' },
  { name: 'a million and up take an exponent of two digits', v: 8388608, want: '8.388608e+06' },
  { name: 'fractions are plain down to 1e-4', v: 0.0005, want: '0.0005' },
  { name: 'smaller fractions take a negative exponent', v: 0.00001, want: '1e-05' },
  { name: 'zero is 0', v: 0, want: '0' },
]
for (const c of values) test(`values: ${c.name}`, () => assert.equal(formatValue(c.v), c.want))
