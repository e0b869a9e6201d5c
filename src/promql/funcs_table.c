/* src/promql/funcs_table.c - the function table of Prometheus 2.42
 * (promql/parser/functions.go): name, argument types, variadic count and
 * result type of every function, sorted by name. Only the table; the
 * implementations are the evaluator's.
 */
#include <string.h>

#include "promql_int.h"

static const struct sg_func funcs[] = {
    {"abs", {SG_VT_VECTOR}, 1, 0, SG_VT_VECTOR, SG_FN_ABS},
    {"absent", {SG_VT_VECTOR}, 1, 0, SG_VT_VECTOR, SG_FN_ABSENT},
    {"absent_over_time", {SG_VT_MATRIX}, 1, 0, SG_VT_VECTOR, SG_FN_ABSENT_OVER_TIME},
    {"acos", {SG_VT_VECTOR}, 1, 0, SG_VT_VECTOR, SG_FN_ACOS},
    {"acosh", {SG_VT_VECTOR}, 1, 0, SG_VT_VECTOR, SG_FN_ACOSH},
    {"asin", {SG_VT_VECTOR}, 1, 0, SG_VT_VECTOR, SG_FN_ASIN},
    {"asinh", {SG_VT_VECTOR}, 1, 0, SG_VT_VECTOR, SG_FN_ASINH},
    {"atan", {SG_VT_VECTOR}, 1, 0, SG_VT_VECTOR, SG_FN_ATAN},
    {"atanh", {SG_VT_VECTOR}, 1, 0, SG_VT_VECTOR, SG_FN_ATANH},
    {"avg_over_time", {SG_VT_MATRIX}, 1, 0, SG_VT_VECTOR, SG_FN_AVG_OVER_TIME},
    {"ceil", {SG_VT_VECTOR}, 1, 0, SG_VT_VECTOR, SG_FN_CEIL},
    {"changes", {SG_VT_MATRIX}, 1, 0, SG_VT_VECTOR, SG_FN_CHANGES},
    {"clamp", {SG_VT_VECTOR, SG_VT_SCALAR, SG_VT_SCALAR}, 3, 0, SG_VT_VECTOR, SG_FN_CLAMP},
    {"clamp_max", {SG_VT_VECTOR, SG_VT_SCALAR}, 2, 0, SG_VT_VECTOR, SG_FN_CLAMP_MAX},
    {"clamp_min", {SG_VT_VECTOR, SG_VT_SCALAR}, 2, 0, SG_VT_VECTOR, SG_FN_CLAMP_MIN},
    {"cos", {SG_VT_VECTOR}, 1, 0, SG_VT_VECTOR, SG_FN_COS},
    {"cosh", {SG_VT_VECTOR}, 1, 0, SG_VT_VECTOR, SG_FN_COSH},
    {"count_over_time", {SG_VT_MATRIX}, 1, 0, SG_VT_VECTOR, SG_FN_COUNT_OVER_TIME},
    {"day_of_month", {SG_VT_VECTOR}, 1, 1, SG_VT_VECTOR, SG_FN_DAY_OF_MONTH},
    {"day_of_week", {SG_VT_VECTOR}, 1, 1, SG_VT_VECTOR, SG_FN_DAY_OF_WEEK},
    {"day_of_year", {SG_VT_VECTOR}, 1, 1, SG_VT_VECTOR, SG_FN_DAY_OF_YEAR},
    {"days_in_month", {SG_VT_VECTOR}, 1, 1, SG_VT_VECTOR, SG_FN_DAYS_IN_MONTH},
    {"deg", {SG_VT_VECTOR}, 1, 0, SG_VT_VECTOR, SG_FN_DEG},
    {"delta", {SG_VT_MATRIX}, 1, 0, SG_VT_VECTOR, SG_FN_DELTA},
    {"deriv", {SG_VT_MATRIX}, 1, 0, SG_VT_VECTOR, SG_FN_DERIV},
    {"exp", {SG_VT_VECTOR}, 1, 0, SG_VT_VECTOR, SG_FN_EXP},
    {"floor", {SG_VT_VECTOR}, 1, 0, SG_VT_VECTOR, SG_FN_FLOOR},
    {"histogram_count", {SG_VT_VECTOR}, 1, 0, SG_VT_VECTOR, SG_FN_HISTOGRAM_COUNT},
    {"histogram_fraction",
     {SG_VT_SCALAR, SG_VT_SCALAR, SG_VT_VECTOR},
     3,
     0,
     SG_VT_VECTOR,
     SG_FN_HISTOGRAM_FRACTION},
    {"histogram_quantile",
     {SG_VT_SCALAR, SG_VT_VECTOR},
     2,
     0,
     SG_VT_VECTOR,
     SG_FN_HISTOGRAM_QUANTILE},
    {"histogram_sum", {SG_VT_VECTOR}, 1, 0, SG_VT_VECTOR, SG_FN_HISTOGRAM_SUM},
    {"holt_winters",
     {SG_VT_MATRIX, SG_VT_SCALAR, SG_VT_SCALAR},
     3,
     0,
     SG_VT_VECTOR,
     SG_FN_HOLT_WINTERS},
    {"hour", {SG_VT_VECTOR}, 1, 1, SG_VT_VECTOR, SG_FN_HOUR},
    {"idelta", {SG_VT_MATRIX}, 1, 0, SG_VT_VECTOR, SG_FN_IDELTA},
    {"increase", {SG_VT_MATRIX}, 1, 0, SG_VT_VECTOR, SG_FN_INCREASE},
    {"irate", {SG_VT_MATRIX}, 1, 0, SG_VT_VECTOR, SG_FN_IRATE},
    {"label_join",
     {SG_VT_VECTOR, SG_VT_STRING, SG_VT_STRING, SG_VT_STRING},
     4,
     -1,
     SG_VT_VECTOR,
     SG_FN_LABEL_JOIN},
    {"label_replace",
     {SG_VT_VECTOR, SG_VT_STRING, SG_VT_STRING, SG_VT_STRING, SG_VT_STRING},
     5,
     0,
     SG_VT_VECTOR,
     SG_FN_LABEL_REPLACE},
    {"last_over_time", {SG_VT_MATRIX}, 1, 0, SG_VT_VECTOR, SG_FN_LAST_OVER_TIME},
    {"ln", {SG_VT_VECTOR}, 1, 0, SG_VT_VECTOR, SG_FN_LN},
    {"log10", {SG_VT_VECTOR}, 1, 0, SG_VT_VECTOR, SG_FN_LOG10},
    {"log2", {SG_VT_VECTOR}, 1, 0, SG_VT_VECTOR, SG_FN_LOG2},
    {"max_over_time", {SG_VT_MATRIX}, 1, 0, SG_VT_VECTOR, SG_FN_MAX_OVER_TIME},
    {"min_over_time", {SG_VT_MATRIX}, 1, 0, SG_VT_VECTOR, SG_FN_MIN_OVER_TIME},
    {"minute", {SG_VT_VECTOR}, 1, 1, SG_VT_VECTOR, SG_FN_MINUTE},
    {"month", {SG_VT_VECTOR}, 1, 1, SG_VT_VECTOR, SG_FN_MONTH},
    {"pi", {SG_VT_NONE}, 0, 0, SG_VT_SCALAR, SG_FN_PI},
    {"predict_linear", {SG_VT_MATRIX, SG_VT_SCALAR}, 2, 0, SG_VT_VECTOR, SG_FN_PREDICT_LINEAR},
    {"present_over_time", {SG_VT_MATRIX}, 1, 0, SG_VT_VECTOR, SG_FN_PRESENT_OVER_TIME},
    {"quantile_over_time",
     {SG_VT_SCALAR, SG_VT_MATRIX},
     2,
     0,
     SG_VT_VECTOR,
     SG_FN_QUANTILE_OVER_TIME},
    {"rad", {SG_VT_VECTOR}, 1, 0, SG_VT_VECTOR, SG_FN_RAD},
    {"rate", {SG_VT_MATRIX}, 1, 0, SG_VT_VECTOR, SG_FN_RATE},
    {"resets", {SG_VT_MATRIX}, 1, 0, SG_VT_VECTOR, SG_FN_RESETS},
    {"round", {SG_VT_VECTOR, SG_VT_SCALAR}, 2, 1, SG_VT_VECTOR, SG_FN_ROUND},
    {"scalar", {SG_VT_VECTOR}, 1, 0, SG_VT_SCALAR, SG_FN_SCALAR},
    {"sgn", {SG_VT_VECTOR}, 1, 0, SG_VT_VECTOR, SG_FN_SGN},
    {"sin", {SG_VT_VECTOR}, 1, 0, SG_VT_VECTOR, SG_FN_SIN},
    {"sinh", {SG_VT_VECTOR}, 1, 0, SG_VT_VECTOR, SG_FN_SINH},
    {"sort", {SG_VT_VECTOR}, 1, 0, SG_VT_VECTOR, SG_FN_SORT},
    {"sort_desc", {SG_VT_VECTOR}, 1, 0, SG_VT_VECTOR, SG_FN_SORT_DESC},
    {"sqrt", {SG_VT_VECTOR}, 1, 0, SG_VT_VECTOR, SG_FN_SQRT},
    {"stddev_over_time", {SG_VT_MATRIX}, 1, 0, SG_VT_VECTOR, SG_FN_STDDEV_OVER_TIME},
    {"stdvar_over_time", {SG_VT_MATRIX}, 1, 0, SG_VT_VECTOR, SG_FN_STDVAR_OVER_TIME},
    {"sum_over_time", {SG_VT_MATRIX}, 1, 0, SG_VT_VECTOR, SG_FN_SUM_OVER_TIME},
    {"tan", {SG_VT_VECTOR}, 1, 0, SG_VT_VECTOR, SG_FN_TAN},
    {"tanh", {SG_VT_VECTOR}, 1, 0, SG_VT_VECTOR, SG_FN_TANH},
    {"time", {SG_VT_NONE}, 0, 0, SG_VT_SCALAR, SG_FN_TIME},
    {"timestamp", {SG_VT_VECTOR}, 1, 0, SG_VT_VECTOR, SG_FN_TIMESTAMP},
    {"vector", {SG_VT_SCALAR}, 1, 0, SG_VT_VECTOR, SG_FN_VECTOR},
    {"year", {SG_VT_VECTOR}, 1, 1, SG_VT_VECTOR, SG_FN_YEAR},
};

const struct sg_func *sg_promql__func_by_name(const char *s, size_t n)
{
    size_t lo = 0, hi = SG_ARRAY_LEN(funcs);

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        size_t ml = strlen(funcs[mid].name);
        int c = memcmp(funcs[mid].name, s, ml < n ? ml : n);
        if (c == 0)
            c = ml < n ? -1 : ml > n ? 1 : 0;
        if (c == 0)
            return &funcs[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

const struct sg_func *sg_promql_func_find(struct sg_str name)
{
    return sg_promql__func_by_name(name.ptr ? name.ptr : "", name.len);
}
