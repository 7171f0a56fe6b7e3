/*
 * The three system calls an init (PID 1) or child subreaper needs and Node
 * does not expose: prctl(PR_SET_CHILD_SUBREAPER), prctl(PR_GET_CHILD_SUBREAPER)
 * and waitpid(pid, WNOHANG) of one given child. Deciding which child may be
 * reaped (never one libuv waits for) is the JavaScript side's job.
 * Node-API only, so one build runs on every Node >= 20.
 */
#include <errno.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <node_api.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>

/* Throws Error("<what>: <strerror>") with .errno = err; returns NULL for the caller to return. */
static napi_value throw_errno(napi_env env, const char *what, int err) {
  char text[160];
  snprintf(text, sizeof text, "%s: %s", what, strerror(err));
  napi_value message, error, number;
  if (napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &message) != napi_ok) return NULL;
  if (napi_create_error(env, NULL, message, &error) != napi_ok) return NULL;
  if (napi_create_int32(env, err, &number) == napi_ok) napi_set_named_property(env, error, "errno", number);
  napi_throw(env, error);
  return NULL;
}

/* setChildSubreaper(on: boolean): void */
static napi_value set_child_subreaper(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  bool on = true;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc >= 1 && napi_get_value_bool(env, argv[0], &on) != napi_ok) {
    napi_throw_type_error(env, NULL, "setChildSubreaper(on: boolean)");
    return NULL;
  }
  if (prctl(PR_SET_CHILD_SUBREAPER, on ? 1UL : 0UL, 0UL, 0UL, 0UL) != 0) return throw_errno(env, "prctl(PR_SET_CHILD_SUBREAPER)", errno);
  return NULL;
}

/* isChildSubreaper(): boolean */
static napi_value is_child_subreaper(napi_env env, napi_callback_info info) {
  (void)info;
  int value = 0;
  if (prctl(PR_GET_CHILD_SUBREAPER, (unsigned long)&value, 0UL, 0UL, 0UL) != 0) return throw_errno(env, "prctl(PR_GET_CHILD_SUBREAPER)", errno);
  napi_value result;
  napi_get_boolean(env, value != 0, &result);
  return result;
}

/*
 * reap(pid: number): null | { pid, code, signal }: waitpid(pid, WNOHANG).
 * null while that child has not exited; throws (errno ECHILD) when pid is not
 * a child of this process (any more).
 */
static napi_value reap(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t pid = 0;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 1 || napi_get_value_int32(env, argv[0], &pid) != napi_ok || pid <= 0) {
    napi_throw_type_error(env, NULL, "reap(pid: positive integer)");
    return NULL;
  }
  int status = 0;
  pid_t got;
  do {
    got = waitpid((pid_t)pid, &status, WNOHANG);
  } while (got < 0 && errno == EINTR);
  if (got < 0) return throw_errno(env, "waitpid", errno);
  napi_value result;
  if (got == 0) {
    napi_get_null(env, &result);
    return result;
  }
  napi_value v_pid, v_code, v_signal;
  napi_create_object(env, &result);
  napi_create_int32(env, got, &v_pid);
  if (WIFEXITED(status)) napi_create_int32(env, WEXITSTATUS(status), &v_code);
  else napi_get_null(env, &v_code);
  if (WIFSIGNALED(status)) napi_create_int32(env, WTERMSIG(status), &v_signal);
  else napi_get_null(env, &v_signal);
  napi_set_named_property(env, result, "pid", v_pid);
  napi_set_named_property(env, result, "code", v_code);
  napi_set_named_property(env, result, "signal", v_signal);
  return result;
}

/*
 * trimMalloc(): boolean: malloc_trim(0), which hands the free pages of every
 * malloc arena back to the kernel; true when some were released. false
 * without glibc (musl has no malloc_trim and keeps little free memory).
 */
static napi_value trim_malloc(napi_env env, napi_callback_info info) {
  (void)info;
  bool released = false;
#ifdef __GLIBC__
  released = malloc_trim(0) != 0;
#endif
  napi_value result;
  napi_get_boolean(env, released, &result);
  return result;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    {"setChildSubreaper", NULL, set_child_subreaper, NULL, NULL, NULL, napi_enumerable, NULL},
    {"isChildSubreaper", NULL, is_child_subreaper, NULL, NULL, NULL, napi_enumerable, NULL},
    {"reap", NULL, reap, NULL, NULL, NULL, napi_enumerable, NULL},
    {"trimMalloc", NULL, trim_malloc, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
