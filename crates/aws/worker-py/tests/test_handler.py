import os
import time
import unittest
from unittest import mock

from faastune_workers import WORKERS_ENV, handler, workers_from

from . import jobs

square_handler = handler(jobs.square)
pid_handler = handler(jobs.pid)


class FakeContext:
    def __init__(self, remaining_ms):
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self):
        return self.remaining_ms


@mock.patch.dict(os.environ, {}, clear=False)
class HandlerTest(unittest.TestCase):
    def setUp(self):
        os.environ.pop(WORKERS_ENV, None)

    def test_results_workers_jobs(self):
        out = square_handler({"items": [1, 2, 3, 4, 5], "faastune": {"workers": 2}}, None)
        self.assertEqual(out, {"results": [1, 4, 9, 16, 25], "workers": 2, "jobs": 5})

    def test_default_is_one_worker_in_process(self):
        out = pid_handler({"items": [0, 0, 0]}, None)
        self.assertEqual(out, {"results": [os.getpid()] * 3, "workers": 1, "jobs": 3})

    def test_env_fallback_and_event_override(self):
        os.environ[WORKERS_ENV] = "3"
        out = pid_handler({"items": [0] * 6}, None)
        self.assertEqual((out["workers"], len(set(out["results"]))), (3, 3))
        out = pid_handler({"items": [0] * 6, "faastune": {"workers": 2}}, None)
        self.assertEqual((out["workers"], len(set(out["results"]))), (2, 2))
        out = pid_handler({"items": [0] * 6, "faastune": {}}, None)  # no "workers": the env's
        self.assertEqual(out["workers"], 3)

    def test_workers_capped_at_jobs(self):
        out = pid_handler({"items": [0, 0], "faastune": {"workers": 64}}, None)
        self.assertEqual((out["workers"], out["jobs"], len(set(out["results"]))), (2, 2, 2))
        self.assertEqual(square_handler({"items": [], "faastune": {"workers": 4}}, None),
                         {"results": [], "workers": 1, "jobs": 0})

    def test_bad_event_workers_named(self):
        for bad in ("two", 0, 65, -1, 2.5, True, None, [2]):
            with self.subTest(workers=bad):
                with self.assertRaisesRegex(ValueError, r"event\['faastune'\]\['workers'\]"):
                    square_handler({"items": [1], "faastune": {"workers": bad}}, None)
        self.assertEqual(square_handler({"items": [3], "faastune": {"workers": "2"}}, None)["results"], [9])
        with self.assertRaisesRegex(ValueError, r"event\['faastune'\] must be an object"):
            square_handler({"items": [1], "faastune": 2}, None)

    def test_bad_env_workers_named(self):
        for bad in ("x", "0", "65", "1.5", "-2"):
            with self.subTest(env=bad):
                with self.assertRaisesRegex(ValueError, "environment variable FAASTUNE_WORKERS"):
                    workers_from({}, {WORKERS_ENV: bad})
        self.assertEqual(workers_from({}, {WORKERS_ENV: " 4 "}), 4)
        self.assertEqual(workers_from({}, {WORKERS_ENV: ""}), 1)
        self.assertEqual(workers_from({}, {}), 1)

    def test_bad_items_named(self):
        with self.assertRaisesRegex(ValueError, r"event\['items'\] is missing"):
            square_handler({"faastune": {"workers": 2}}, None)
        for bad in ("abc", {"a": 1}, 3, None):
            with self.subTest(items=bad):
                with self.assertRaisesRegex(ValueError, r"event\['items'\] must be a list"):
                    square_handler({"items": bad}, None)
        with self.assertRaisesRegex(ValueError, "the event must be a JSON object"):
            square_handler([1, 2], None)

    def test_items_key_and_decorator_forms(self):
        @handler(items_key="records")
        def double(x):
            return 2 * x

        self.assertEqual(double({"records": [1, 2, 3], "faastune": {"workers": 3}}, None)["results"], [2, 4, 6])

        @handler
        def neg(x):
            return -x

        self.assertEqual(neg({"items": [1, 2]})["results"], [-1, -2])
        self.assertEqual(neg.__name__, "neg")

    def test_lambda_deadline(self):
        slow = handler(jobs.sleepy, margin_s=0.5)
        start = time.monotonic()
        with self.assertRaisesRegex(TimeoutError, r"1 of 2 jobs done.*Lambda deadline less a 0.5 s margin"):
            slow({"items": [0.0, 30.0], "faastune": {"workers": 2}}, FakeContext(1500))
        self.assertLess(time.monotonic() - start, 5)
        # plenty of time left: no timeout
        out = slow({"items": [0.0, 0.01], "faastune": {"workers": 2}}, FakeContext(60_000))
        self.assertEqual(out["results"], [0.0, 0.01])


if __name__ == "__main__":
    unittest.main()
