# Writes OUTPUT (modelbay_version.h) from INPUT with the source tree's git
# revision, at every build rather than only at configure time (a commit
# after `cmake` must not leave the previous revision in --version and in
# model metadata). configure_file rewrites OUTPUT only when its text
# changes, so an unchanged revision rebuilds nothing.
#   cmake -DSOURCE_DIR=... -DINPUT=... -DOUTPUT=... -DPROJECT_VERSION=... -P git_rev.cmake
execute_process(COMMAND git rev-parse --short=12 HEAD WORKING_DIRECTORY ${SOURCE_DIR}
                OUTPUT_VARIABLE MODELBAY_GIT_REV OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
configure_file(${INPUT} ${OUTPUT} @ONLY)
