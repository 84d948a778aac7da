/*
 * gw_cluster_stats.c - names and histogram bounds of the cluster counters
 * (see gw_cluster_stats.h).
 */
#include "gw_cluster_stats.h"

static const uint64_t lag_bounds_us[GW_CLUSTER_LAG_BUCKETS] = {
	250, 500, 1000, 2000, 5000, 10000, 50000, 250000, 1000000, 5000000 };

uint64_t
gw_cluster_lag_bound_us(unsigned i)
{
	return i < GW_CLUSTER_LAG_BUCKETS ? lag_bounds_us[i] : UINT64_MAX;
}

const char *
gw_cluster_refusal_name(enum gw_cluster_refusal r)
{
	static const char *const n[GW_CL_REF_COUNT] = {
		"syntax", "kind", "addr", "name", "time", "key", "weaker" };

	return (unsigned)r < GW_CL_REF_COUNT ? n[r] : "?";
}

const char *
gw_cluster_kind_name(unsigned k)
{
	static const char *const n[GW_CLUSTER_KINDS] = { "?", "mx", "pin", "fail" };

	return k < GW_CLUSTER_KINDS ? n[k] : "?";
}
