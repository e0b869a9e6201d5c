/* tests/unit/test_state.c - the state directory: lock, documents, audit
 * journal and action keys, outbox, torn and corrupt journals, failing
 * writes, and kill -9 at random points (a forked writer is SIGKILLed; the
 * parent replays and checks that nothing reported durable was lost and
 * nothing finished comes back). */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "stopgate/fs.h"
#include "stopgate/state.h"

static char tmpdir[64];

static const char *fresh_dir(void)
{
    static int n;
    static char dir[128];
    snprintf(dir, sizeof(dir), "%s/s%d", tmpdir, ++n);
    return dir;
}

static char *slurp(const char *dir, const char *file)
{
    char path[256];
    struct sg_buf b;
    size_t n;
    char *s;

    snprintf(path, sizeof(path), "%s/%s", dir, file);
    sg_buf_init(&b, 1 << 24);
    assert_int_equal(sg_fs_read_all(path, 1 << 24, &b, NULL), SG_OK);
    s = sg_buf_steal(&b, &n);
    return s ? s : sg_strdup("");
}

static void append_raw(const char *dir, const char *file, const void *data, size_t len)
{
    char path[256];
    int fd;

    assert_int_equal(sg_fs_mkdir_p(dir, 0700, NULL), SG_OK);
    snprintf(path, sizeof(path), "%s/%s", dir, file);
    fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    close(fd);
}

static void write_raw(const char *dir, const char *file, const char *data)
{
    char path[256];
    assert_int_equal(sg_fs_mkdir_p(dir, 0700, NULL), SG_OK);
    snprintf(path, sizeof(path), "%s/%s", dir, file);
    assert_int_equal(sg_fs_write_atomic(path, data, strlen(data), 0600, NULL), SG_OK);
}

static struct sg_audit action(const char *key)
{
    struct sg_audit a;
    memset(&a, 0, sizeof(a));
    a.event = SG_AUDIT_ACTION;
    a.release = "caracal";
    a.action = "pause";
    a.key = key;
    return a;
}

static void lock_refuses_a_second_owner(void **state)
{
    const char *dir = fresh_dir();
    struct sg_state *a = NULL, *b = NULL, *c = NULL;
    struct sg_err err;

    (void)state;
    assert_int_equal(sg_state_open(dir, 0, &a, NULL, NULL), SG_OK);
    sg_err_clear(&err);
    assert_int_equal(sg_state_open(dir, 0, &b, NULL, &err), SG_ESTATE);
    assert_null(b);
    assert_non_null(strstr(err.msg, "state directory is locked by another stopgate process"));
    /* documents-only access works beside the owner, journals do not */
    assert_int_equal(sg_state_open(dir, SG_STATE_SHARED, &c, NULL, NULL), SG_OK);
    {
        struct sg_audit r = action("x");
        sg_err_clear(&err);
        assert_int_equal(sg_state_audit(c, &r, &err), SG_ESTATE);
    }
    sg_state_close(c);
    sg_state_close(a);
    assert_int_equal(sg_state_open(dir, 0, &b, NULL, NULL), SG_OK);
    sg_state_close(b);
    sg_state_close(NULL);
}

static void documents_round_trip(void **state)
{
    const char *dir = fresh_dir();
    struct sg_state *st;
    json_t *doc, *back = (json_t *)1;
    struct sg_err err;

    (void)state;
    assert_int_equal(sg_state_open(dir, 0, &st, NULL, NULL), SG_OK);
    assert_int_equal(sg_state_load_release(st, "caracal", &back, NULL), SG_OK);
    assert_null(back);
    doc = json_pack("{s:s,s:i,s:[s]}", "gate", "halted", "last_acted_revision", 4, "firing",
                    "AuditDLQGrowing");
    assert_int_equal(sg_state_save_release(st, "caracal", doc, NULL), SG_OK);
    assert_int_equal(sg_state_load_release(st, "caracal", &back, NULL), SG_OK);
    assert_true(json_equal(doc, back));
    json_decref(back);
    /* replaced whole */
    json_object_set_new(doc, "gate", json_string("open"));
    assert_int_equal(sg_state_save_release(st, "caracal", doc, NULL), SG_OK);
    assert_int_equal(sg_state_load_release(st, "caracal", &back, NULL), SG_OK);
    assert_string_equal(json_string_value(json_object_get(back, "gate")), "open");
    json_decref(back);
    assert_int_equal(sg_state_save_doc(st, "plans", "caracal-edge.eu", doc, NULL), SG_OK);
    /* names that could escape the directory */
    assert_int_equal(sg_state_save_release(st, "../x", doc, NULL), SG_EINVAL);
    assert_int_equal(sg_state_save_release(st, ".hidden", doc, NULL), SG_EINVAL);
    assert_int_equal(sg_state_save_doc(st, "a/b", "x", doc, NULL), SG_EINVAL);
    assert_int_equal(sg_state_load_release(st, "", &back, NULL), SG_EINVAL);
    json_decref(doc);
    /* a damaged document is an error with its position */
    {
        char sub[160];
        snprintf(sub, sizeof(sub), "%s/releases", dir);
        write_raw(sub, "bad.json", "{\n  \"gate\": open\n}\n");
    }
    sg_err_clear(&err);
    assert_int_equal(sg_state_load_release(st, "bad", &back, &err), SG_ESTATE);
    assert_null(back);
    assert_non_null(strstr(err.msg, "/releases/bad.json:2:"));
    sg_state_close(st);
}

static void audit_line_format(void **state)
{
    struct sg_label lv[] = {{{"alertname", 9}, {"AuditDLQGrowing", 15}},
                            {{"stop", 4}, {"pause", 5}}};
    struct sg_labels labels = {lv, 2};
    const char *argv[] = {"kubectl", "rollout", "pause", "deployment/caracal-api", "-n",
                          "caracal", "bad\xff\xfe", NULL};
    json_t *extra = json_pack("{s:s,s:s}", "reason", "AuditDLQGrowing fired", "release", "nope");
    struct sg_audit a;
    struct sg_buf b;

    (void)state;
    memset(&a, 0, sizeof(a));
    a.ts_ms = 1764403200123; /* 2025-11-29T08:00:00.123Z */
    a.event = SG_AUDIT_ACTION;
    a.release = "caracal";
    a.alertname = "AuditDLQGrowing";
    a.labels = &labels;
    a.query = "increase(dlq[5m]) > 0";
    a.has_value = true;
    a.value = 3.5;
    a.has_revision = true;
    a.revision = 5;
    a.action = "pause";
    a.key = "caracal/5/pause";
    a.has_dry_run = true;
    a.dry_run = false;
    a.argv = argv;
    a.has_exit_status = true;
    a.exit_status = 0;
    a.extra = extra;
    sg_buf_init(&b, 1 << 16);
    assert_int_equal(sg_state_audit_format(&a, &b, NULL), SG_OK);
    assert_string_equal(
        b.data,
        "{\"ts\":\"2025-11-29T08:00:00.123Z\",\"release\":\"caracal\",\"event\":\"action\","
        "\"alertname\":\"AuditDLQGrowing\",\"labels\":{\"alertname\":\"AuditDLQGrowing\","
        "\"stop\":\"pause\"},\"query\":\"increase(dlq[5m]) > 0\",\"value\":3.5,\"revision\":5,"
        "\"action\":\"pause\",\"key\":\"caracal/5/pause\",\"dry_run\":false,\"argv\":[\"kubectl\","
        "\"rollout\",\"pause\",\"deployment/caracal-api\",\"-n\",\"caracal\",\"bad\\uFFFD\\uFFFD\"],"
        "\"exit_status\":0,\"reason\":\"AuditDLQGrowing fired\"}");
    sg_buf_reset(&b);
    memset(&a, 0, sizeof(a));
    a.ts_ms = 1;
    a.event = SG_AUDIT_TRIP;
    a.release = "r";
    a.has_value = true;
    a.value = NAN;
    assert_int_equal(sg_state_audit_format(&a, &b, NULL), SG_OK);
    assert_string_equal(b.data, "{\"ts\":\"1970-01-01T00:00:00.001Z\",\"release\":\"r\","
                                "\"event\":\"trip\",\"value\":\"NaN\"}");
    /* an action needs a key, everything needs a release */
    a.event = SG_AUDIT_ACTION;
    assert_int_equal(sg_state_audit_format(&a, &b, NULL), SG_EINVAL);
    a.release = NULL;
    a.event = SG_AUDIT_NOTIFY;
    assert_int_equal(sg_state_audit_format(&a, &b, NULL), SG_EINVAL);
    sg_buf_cleanup(&b);
    json_decref(extra);
    assert_string_equal(sg_audit_event_name(SG_AUDIT_ACTION_RESULT), "action_result");
    assert_string_equal(sg_audit_event_name(SG_AUDIT_WAVE_START), "wave_start");
}

static void one_action_line_per_key_ever(void **state)
{
    const char *dir = fresh_dir();
    struct sg_state *st;
    struct sg_state_info info;
    struct sg_audit a = action("caracal/5/rollback");
    struct sg_audit r;
    struct sg_err err;
    char *text;

    (void)state;
    assert_int_equal(sg_state_open(dir, 0, &st, NULL, NULL), SG_OK);
    assert_false(sg_state_has_action(st, "caracal/5/rollback"));
    assert_int_equal(sg_state_audit(st, &a, NULL), SG_OK);
    assert_true(sg_state_has_action(st, "caracal/5/rollback"));
    sg_err_clear(&err);
    assert_int_equal(sg_state_audit(st, &a, &err), SG_ESTATE);
    assert_string_equal(err.msg, "action pause was already journaled (key caracal/5/rollback)");
    /* other events with the same key are fine (the result of that action) */
    r = a;
    r.event = SG_AUDIT_ACTION_RESULT;
    r.has_exit_status = true;
    assert_int_equal(sg_state_audit(st, &r, NULL), SG_OK);
    assert_int_equal(sg_state_audit(st, &r, NULL), SG_OK);
    sg_state_close(st);

    assert_int_equal(sg_state_open(dir, 0, &st, &info, NULL), SG_OK);
    assert_int_equal(info.audit_lines, 3);
    assert_int_equal(info.audit_actions, 1);
    assert_int_equal(info.audit_cut_bytes, 0);
    assert_true(sg_state_has_action(st, "caracal/5/rollback"));
    assert_false(sg_state_has_action(st, "caracal/6/rollback"));
    assert_int_equal(sg_state_audit(st, &a, NULL), SG_ESTATE);
    sg_state_close(st);
    text = slurp(dir, "audit.jsonl");
    assert_non_null(strstr(text, "\"event\":\"action\""));
    assert_null(strstr(strstr(text, "\"event\":\"action\"") + 1, "\"event\":\"action\""));
    sg_free(text);
}

static void torn_last_line_is_cut(void **state)
{
    const char *dir = fresh_dir();
    struct sg_state *st;
    struct sg_state_info info;
    struct sg_audit a = action("k1"), b = action("k2");
    static const char torn[] = "{\"ts\":\"2025-11-29T08:00:00.000Z\",\"release\":\"caracal\",\"ev";
    static const char zeros[64];
    char *text;
    size_t len_before;

    (void)state;
    assert_int_equal(sg_state_open(dir, 0, &st, NULL, NULL), SG_OK);
    assert_int_equal(sg_state_audit(st, &a, NULL), SG_OK);
    sg_state_close(st);
    text = slurp(dir, "audit.jsonl");
    len_before = strlen(text);
    sg_free(text);
    append_raw(dir, "audit.jsonl", torn, sizeof(torn) - 1);
    assert_int_equal(sg_state_open(dir, 0, &st, &info, NULL), SG_OK);
    assert_int_equal(info.audit_cut_bytes, sizeof(torn) - 1);
    assert_int_equal(info.audit_lines, 1);
    assert_true(sg_state_has_action(st, "k1"));
    assert_int_equal(sg_state_audit(st, &b, NULL), SG_OK);
    sg_state_close(st);
    text = slurp(dir, "audit.jsonl");
    assert_null(strstr(text, "\"ev{"));
    assert_true(strlen(text) > len_before);
    assert_int_equal(text[strlen(text) - 1], '\n');
    sg_free(text);

    /* a tail of zero bytes (power loss on a delayed-allocation filesystem) */
    append_raw(dir, "audit.jsonl", zeros, sizeof(zeros));
    assert_int_equal(sg_state_open(dir, 0, &st, &info, NULL), SG_OK);
    assert_int_equal(info.audit_cut_bytes, sizeof(zeros));
    assert_true(sg_state_has_action(st, "k2"));
    sg_state_close(st);

    /* a complete but invalid last line: also a torn write */
    append_raw(dir, "audit.jsonl", "{\"release\":\n", 12);
    assert_int_equal(sg_state_open(dir, 0, &st, &info, NULL), SG_OK);
    assert_int_equal(info.audit_cut_bytes, 12);
    assert_int_equal(info.audit_lines, 2);
    sg_state_close(st);
}

static void corruption_before_the_end_is_refused(void **state)
{
    const char *dir = fresh_dir();
    struct sg_state *st = NULL;
    struct sg_err err;
    char want[256];

    (void)state;
    write_raw(dir, "audit.jsonl",
              "{\"release\":\"a\",\"event\":\"action\",\"key\":\"k\"}\n"
              "{\"release\":\"a\",\"event\":\"trip\"\n"
              "{\"release\":\"a\",\"event\":\"resolve\"}\n");
    sg_err_clear(&err);
    assert_int_equal(sg_state_open(dir, 0, &st, NULL, &err), SG_ESTATE);
    assert_null(st);
    snprintf(want, sizeof(want), "%s/audit.jsonl:2:29: invalid journal line: ", dir);
    if (strncmp(err.msg, want, strlen(want)) != 0)
        fail_msg("got %s", err.msg);
    assert_int_equal(err.line, 2);
    assert_non_null(strstr(err.msg, "damaged before its last line"));

    /* a bad line followed by a torn one is still corruption */
    dir = fresh_dir();
    write_raw(dir, "audit.jsonl", "{}\nnot json\n{\"rel");
    assert_int_equal(sg_state_open(dir, 0, &st, NULL, NULL), SG_ESTATE);
    /* a non-object line */
    dir = fresh_dir();
    write_raw(dir, "audit.jsonl", "[1]\n{}\n");
    sg_err_clear(&err);
    assert_int_equal(sg_state_open(dir, 0, &st, NULL, &err), SG_ESTATE);
    assert_non_null(strstr(err.msg, "audit.jsonl:1:1: invalid journal line: not a JSON object"));
    /* an outbox record that is not one */
    dir = fresh_dir();
    write_raw(dir, "outbox.jsonl", "{\"op\":\"add\",\"id\":1,\"notifier\":\"slack\",\"payload\":{}}\n"
                                   "{\"op\":\"frob\",\"id\":2}\n");
    sg_err_clear(&err);
    assert_int_equal(sg_state_open(dir, 0, &st, NULL, &err), SG_ESTATE);
    assert_non_null(strstr(err.msg, "outbox.jsonl:2:1: not an outbox record"));
}

static void outbox_survives_restarts(void **state)
{
    const char *dir = fresh_dir();
    struct sg_state *st;
    struct sg_state_info info;
    const struct sg_outbox_entry *p;
    json_t *payload = json_pack("{s:s}", "text", "AuditDLQGrowing fired");
    uint64_t id1, id2, id3, id4;
    struct sg_err err;

    (void)state;
    assert_int_equal(sg_state_open(dir, 0, &st, NULL, NULL), SG_OK);
    assert_int_equal(sg_state_outbox_add(st, "slack", payload, &id1, NULL), SG_OK);
    assert_int_equal(sg_state_outbox_add(st, "alertmanager", payload, &id2, NULL), SG_OK);
    assert_int_equal(sg_state_outbox_add(st, "slack", payload, &id3, NULL), SG_OK);
    assert_true(id1 < id2 && id2 < id3);
    assert_int_equal(sg_state_outbox_done(st, id2, "delivered", NULL), SG_OK);
    sg_err_clear(&err);
    assert_int_equal(sg_state_outbox_done(st, id2, "delivered", &err), SG_EINVAL);
    assert_int_equal(sg_state_outbox_pending(st, &p), 2);
    assert_int_equal(p[0].id, id1);
    assert_int_equal(p[1].id, id3);
    sg_state_close(st);

    assert_int_equal(sg_state_open(dir, 0, &st, &info, NULL), SG_OK);
    assert_int_equal(info.outbox_pending, 2);
    assert_int_equal(info.outbox_done, 1);
    assert_int_equal(sg_state_outbox_pending(st, &p), 2);
    assert_int_equal(p[0].id, id1);
    assert_string_equal(p[0].notifier, "slack");
    assert_true(json_equal(p[0].payload, payload));
    assert_true(p[0].ts_ms > 0);
    assert_int_equal(sg_state_outbox_done(st, id1, "delivered", NULL), SG_OK);
    assert_int_equal(sg_state_outbox_done(st, id3, "dropped", NULL), SG_OK);
    assert_int_equal(sg_state_outbox_pending(st, &p), 0);
    sg_state_close(st);

    /* nothing pending after compaction, and ids still go up */
    assert_int_equal(sg_state_open(dir, 0, &st, &info, NULL), SG_OK);
    assert_int_equal(info.outbox_pending, 0);
    sg_state_close(st);
    assert_int_equal(sg_state_open(dir, 0, &st, &info, NULL), SG_OK);
    assert_int_equal(sg_state_outbox_add(st, "slack", payload, &id4, NULL), SG_OK);
    assert_true(id4 > id3);
    sg_state_close(st);
    json_decref(payload);
}

/* A journal that cannot be written: the file is cut back to its last
 * complete line and every later write fails. Run in a child with a file
 * size limit. */
static void failed_write_breaks_the_journal(void **state)
{
    const char *dir = fresh_dir();
    struct sg_state *st;
    struct sg_audit a = action("small");
    pid_t pid;
    int status;
    char *text;

    (void)state;
    assert_int_equal(sg_state_open(dir, 0, &st, NULL, NULL), SG_OK);
    assert_int_equal(sg_state_audit(st, &a, NULL), SG_OK);
    sg_state_close(st);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct rlimit rl;
        struct sigaction sa;
        struct sg_err err;
        char big[4096];
        struct sg_audit b = action("big");
        struct sg_audit c = action("after");
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = SIG_IGN;
        sigaction(SIGXFSZ, &sa, NULL);
        if (sg_state_open(dir, 0, &st, NULL, NULL) != SG_OK)
            _exit(10);
        rl.rlim_cur = rl.rlim_max = 300;
        setrlimit(RLIMIT_FSIZE, &rl);
        memset(big, 'x', sizeof(big) - 1);
        big[sizeof(big) - 1] = 0;
        b.query = big;
        sg_err_clear(&err);
        if (sg_state_audit(st, &b, &err) != SG_ESTATE || !strstr(err.msg, "journal write failed"))
            _exit(11);
        if (!sg_state_broken(st))
            _exit(12);
        if (sg_state_audit(st, &c, NULL) != SG_ESTATE)
            _exit(13);
        if (sg_state_has_action(st, "big"))
            _exit(14);
        sg_state_close(st);
        _exit(0);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    /* the file holds exactly the first line */
    text = slurp(dir, "audit.jsonl");
    assert_non_null(strstr(text, "\"key\":\"small\"}\n"));
    assert_null(strstr(text, "big"));
    sg_free(text);
    assert_int_equal(sg_state_open(dir, 0, &st, NULL, NULL), SG_OK);
    assert_true(sg_state_has_action(st, "small"));
    assert_false(sg_state_broken(st));
    sg_state_close(st);
}

/* ---- kill -9 ------------------------------------------------------------------------ */

/* The writer: queue notifications, finish some, journal actions; after
 * each durable step it tells the parent ("A id", "D id", "K key"). */
static void writer(const char *dir, int fd, unsigned seed)
{
    struct sg_state *st;
    json_t *payload = json_pack("{s:s}", "text", "stop condition tripped");
    uint64_t ids[4096];
    size_t nids = 0;
    char msg[64];

    srand(seed);
    if (sg_state_open(dir, 0, &st, NULL, NULL) != SG_OK)
        _exit(20);
    for (unsigned i = 0;; i++) {
        int op = rand() % 3;
        if (op == 0 || nids == 0) {
            uint64_t id;
            if (sg_state_outbox_add(st, "slack", payload, &id, NULL) != SG_OK)
                _exit(21);
            if (nids < SG_ARRAY_LEN(ids))
                ids[nids++] = id;
            snprintf(msg, sizeof(msg), "A %llu\n", (unsigned long long)id);
        } else if (op == 1) {
            size_t k = (size_t)rand() % nids;
            uint64_t id = ids[k];
            ids[k] = ids[--nids];
            /* the intent first: killed between the two reports, the parent
             * cannot know whether the done line made it */
            snprintf(msg, sizeof(msg), "d %llu\n", (unsigned long long)id);
            if (write(fd, msg, strlen(msg)) < 0)
                _exit(24);
            if (sg_state_outbox_done(st, id, "delivered", NULL) != SG_OK)
                _exit(22);
            snprintf(msg, sizeof(msg), "D %llu\n", (unsigned long long)id);
        } else {
            char key[32];
            struct sg_audit a;
            snprintf(key, sizeof(key), "k%u-%u", seed, i);
            a = action(key);
            if (sg_state_audit(st, &a, NULL) != SG_OK)
                _exit(23);
            snprintf(msg, sizeof(msg), "K %s\n", key);
        }
        if (write(fd, msg, strlen(msg)) < 0)
            _exit(24);
    }
}

struct reported {
    uint64_t added[8192], done[8192], intent[8192];
    size_t nadded, ndone, nintent;
    char keys[8192][32];
    size_t nkeys;
};

static bool in(const uint64_t *v, size_t n, uint64_t x)
{
    for (size_t i = 0; i < n; i++) {
        if (v[i] == x)
            return true;
    }
    return false;
}

static void kill_nine_at_random_points(void **state)
{
    unsigned seed0 = (unsigned)time(NULL);
    static struct reported rep;

    (void)state;
    for (unsigned round = 0; round < 24; round++) {
        const char *dir = fresh_dir();
        struct sg_state *st;
        struct sg_state_info info;
        const struct sg_outbox_entry *p;
        char buf[1 << 16];
        size_t len = 0, np;
        int pfd[2];
        pid_t pid;
        int status;
        unsigned seed = seed0 + round;
        struct timespec ts;

        memset(&rep, 0, sizeof(rep));
        /* several lives of the same directory */
        for (int life = 0; life < 3; life++) {
            assert_int_equal(pipe(pfd), 0);
            pid = fork();
            assert_true(pid >= 0);
            if (pid == 0) {
                close(pfd[0]);
                writer(dir, pfd[1], seed * 7 + (unsigned)life);
            }
            close(pfd[1]);
            ts.tv_sec = 0;
            ts.tv_nsec = (long)((seed * 7919u + (unsigned)life * 104729u) % 25) * 1000000L + 200000L;
            nanosleep(&ts, NULL);
            kill(pid, SIGKILL);
            assert_int_equal(waitpid(pid, &status, 0), pid);
            assert_true(WIFSIGNALED(status));
            len = 0;
            for (;;) {
                ssize_t n = read(pfd[0], buf + len, sizeof(buf) - 1 - len);
                if (n <= 0)
                    break;
                len += (size_t)n;
            }
            close(pfd[0]);
            buf[len] = '\0';
            /* complete report lines only */
            for (char *line = buf, *nl; (nl = strchr(line, '\n')) != NULL; line = nl + 1) {
                *nl = '\0';
                if (line[0] == 'A' && rep.nadded < 8192)
                    rep.added[rep.nadded++] = strtoull(line + 2, NULL, 10);
                else if (line[0] == 'd' && rep.nintent < 8192)
                    rep.intent[rep.nintent++] = strtoull(line + 2, NULL, 10);
                else if (line[0] == 'D' && rep.ndone < 8192)
                    rep.done[rep.ndone++] = strtoull(line + 2, NULL, 10);
                else if (line[0] == 'K' && rep.nkeys < 8192)
                    snprintf(rep.keys[rep.nkeys++], sizeof(rep.keys[0]), "%s", line + 2);
            }
            /* sometimes also simulate the crash tearing a line */
            if ((seed + (unsigned)life) % 3 == 0)
                append_raw(dir, "audit.jsonl", "{\"ts\":\"2025", 11);
            if ((seed + (unsigned)life) % 4 == 0)
                append_raw(dir, "outbox.jsonl", "{\"op\":\"add\",\"id\":", 17);

            /* replay and check */
            assert_int_equal(sg_state_open(dir, 0, &st, &info, NULL), SG_OK);
            for (size_t i = 0; i < rep.nkeys; i++) {
                if (!sg_state_has_action(st, rep.keys[i]))
                    fail_msg("seed %u life %d: action %s lost", seed, life, rep.keys[i]);
            }
            np = sg_state_outbox_pending(st, &p);
            for (size_t i = 0; i < np; i++) {
                if (in(rep.done, rep.ndone, p[i].id))
                    fail_msg("seed %u life %d: delivered %llu came back", seed, life,
                             (unsigned long long)p[i].id);
            }
            for (size_t i = 0; i < rep.nadded; i++) {
                bool pending = false;
                if (in(rep.done, rep.ndone, rep.added[i]))
                    continue;
                for (size_t k = 0; k < np; k++)
                    pending |= p[k].id == rep.added[i];
                if (!pending && in(rep.intent, rep.nintent, rep.added[i])) {
                    /* the done line made it, its report did not: it must
                     * never come back from now on */
                    if (rep.ndone < 8192)
                        rep.done[rep.ndone++] = rep.added[i];
                    continue;
                }
                if (!pending) {
                    char *t = slurp(dir, "outbox.jsonl");
                    fail_msg("seed %u life %d: queued %llu lost\n%s", seed, life,
                             (unsigned long long)rep.added[i], t);
                }
            }
            /* the next life's writer may finish the unreported ones: count
             * them as reported-added so they are checked from now on */
            for (size_t k = 0; k < np; k++) {
                if (!in(rep.added, rep.nadded, p[k].id) && rep.nadded < 8192)
                    rep.added[rep.nadded++] = p[k].id;
            }
            sg_state_close(st);
        }
    }
}

static void out_of_memory_sweep(void **state)
{
    const char *dir = fresh_dir();
    struct sg_state *st;
    json_t *payload = json_pack("{s:i}", "n", 1);
    struct sg_audit a = action("oom-seed");

    (void)state;
    assert_int_equal(sg_state_open(dir, 0, &st, NULL, NULL), SG_OK);
    assert_int_equal(sg_state_audit(st, &a, NULL), SG_OK);
    assert_int_equal(sg_state_outbox_add(st, "slack", payload, NULL, NULL), SG_OK);
    sg_state_close(st);
    for (uint64_t n = 1; n < 500; n++) {
        int rc;
        char key[32];
        struct sg_audit b;
        st = NULL;
        snprintf(key, sizeof(key), "oom-%llu", (unsigned long long)n);
        b = action(key);
        sg_alloc_fail_at(n);
        rc = sg_state_open(dir, 0, &st, NULL, NULL);
        if (rc == SG_OK)
            rc = sg_state_audit(st, &b, NULL);
        sg_alloc_fail_at(0);
        if (rc == SG_OK && st && sg_state_has_action(st, key)) {
            sg_state_close(st);
            break;
        }
        assert_int_equal(rc, SG_ENOMEM);
        if (st)
            assert_false(sg_state_has_action(st, key));
        sg_state_close(st);
    }
    json_decref(payload);
}

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/sg-test-state-XXXXXX");
    assert_non_null(mkdtemp(tmpdir));
    return 0;
}

static int teardown(void **state)
{
    char cmd[128];
    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(lock_refuses_a_second_owner),
        cmocka_unit_test(documents_round_trip),
        cmocka_unit_test(audit_line_format),
        cmocka_unit_test(one_action_line_per_key_ever),
        cmocka_unit_test(torn_last_line_is_cut),
        cmocka_unit_test(corruption_before_the_end_is_refused),
        cmocka_unit_test(outbox_survives_restarts),
        cmocka_unit_test(failed_write_breaks_the_journal),
        cmocka_unit_test(kill_nine_at_random_points),
        cmocka_unit_test(out_of_memory_sweep),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
