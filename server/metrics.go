package server

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"net/http"

	"webusage/store"
)

// metrics are the Prometheus metrics served at /metrics.
type metrics struct {
	reg              *prometheus.Registry
	accepted         prometheus.Counter
	duplicates       prometheus.Counter
	invalid          prometheus.Counter
	dropped          *prometheus.CounterVec
	queueFull        prometheus.Counter
	urlUnsanitizable prometheus.Counter
	commitEvents     prometheus.Histogram
	commitSeconds    prometheus.Histogram
	commitErrors     prometheus.Counter
}

func newMetrics(st *store.Store) *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	f := func(c prometheus.Collector) { m.reg.MustRegister(c) }
	m.accepted = prometheus.NewCounter(prometheus.CounterOpts{Name: "webusage_ingest_accepted_events_total",
		Help: "Events stored (acknowledged after commit)."})
	m.duplicates = prometheus.NewCounter(prometheus.CounterOpts{Name: "webusage_ingest_duplicate_events_total",
		Help: "Events whose id was already stored."})
	m.invalid = prometheus.NewCounter(prometheus.CounterOpts{Name: "webusage_ingest_invalid_events_total",
		Help: "Events rejected by validation (reported by index)."})
	m.dropped = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "webusage_ingest_dropped_events_total",
		Help: "Valid events not stored, by pipeline drop reason."}, []string{"reason"})
	m.queueFull = prometheus.NewCounter(prometheus.CounterOpts{Name: "webusage_ingest_queue_full_total",
		Help: "Batches refused with 503 because the ingest queue was full."})
	m.urlUnsanitizable = prometheus.NewCounter(prometheus.CounterOpts{Name: "webusage_ingest_url_unsanitizable_total",
		Help: "Events stored without their URL because it could not be sanitized."})
	m.commitEvents = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "webusage_commit_batch_events",
		Help: "Events per group commit.", Buckets: prometheus.ExponentialBuckets(1, 2, 14)})
	m.commitSeconds = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "webusage_commit_duration_seconds",
		Help: "Duration of group commits.", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14)})
	m.commitErrors = prometheus.NewCounter(prometheus.CounterOpts{Name: "webusage_commit_errors_total",
		Help: "Group commits that failed."})
	for _, c := range []prometheus.Collector{m.accepted, m.duplicates, m.invalid, m.dropped, m.queueFull,
		m.urlUnsanitizable, m.commitEvents, m.commitSeconds, m.commitErrors} {
		f(c)
	}
	for _, r := range []DropReason{DropNoApplication, DropCollectionDisabled} {
		m.dropped.WithLabelValues(string(r))
	}
	if st != nil {
		f(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "webusage_ingest_queue_events",
			Help: "Events waiting for the writer."}, func() float64 { return float64(st.QueuedEvents()) }))
	}
	return m
}

// ObserveCommit implements store.CommitObserver.
func (m *metrics) ObserveCommit(events int, d time.Duration, err error) {
	if err != nil {
		m.commitErrors.Inc()
		return
	}
	m.commitEvents.Observe(float64(events))
	m.commitSeconds.Observe(d.Seconds())
}

func (m *metrics) observeBatch(invalid int, dropped map[DropReason]int) {
	m.invalid.Add(float64(invalid))
	for r, n := range dropped {
		m.dropped.WithLabelValues(string(r)).Add(float64(n))
	}
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}
