{
  "targets": [
    {
      "target_name": "smgr_reaper",
      "sources": ["src/reaper.c"],
      "cflags": ["-Wall", "-Wextra", "-O2"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
