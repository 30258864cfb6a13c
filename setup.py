"""Build hooks setup.cfg cannot express: the optional C encoder (native/_build.py).

The C module is an accelerator, never a requirement: when there is no compiler, or the build
fails for any reason, the installation goes on without it (with a warning) and `native`
uses its pure-Python twin. Everything else about the package is in setup.cfg.
"""

from __future__ import annotations

import sys

from setuptools import setup
from setuptools.command.build_ext import build_ext

try:
    from setuptools.errors import CCompilerError, CompileError, ExecError, PlatformError
except ImportError:  # setuptools < 59
    from distutils.errors import CCompilerError, CompileError  # type: ignore[no-redef]
    from distutils.errors import DistutilsExecError as ExecError  # type: ignore[no-redef]
    from distutils.errors import DistutilsPlatformError as PlatformError  # type: ignore

BUILD_FAILURES = (CCompilerError, CompileError, ExecError, PlatformError, OSError)


class OptionalBuildExt(build_ext):
    """build_ext that warns instead of failing: the C encoder is optional."""

    def run(self) -> None:
        try:
            super().run()
        except BUILD_FAILURES as error:
            self._skip(error)

    def build_extension(self, ext) -> None:  # type: ignore[no-untyped-def]
        try:
            super().build_extension(ext)
        except BUILD_FAILURES as error:
            self._skip(error)

    @staticmethod
    def _skip(error: BaseException) -> None:
        print(
            f"WARNING: the C encoder (native._encoder) was not built ({error}); "
            "passerelle will use its pure-Python twin",
            file=sys.stderr,
        )


setup(
    cmdclass={"build_ext": OptionalBuildExt},
    cffi_modules=["native/_build.py:ffibuilder"],
)
