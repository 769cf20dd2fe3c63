import { afterAll } from "vitest";
import { removeTemporaryFolders } from "./helpers/engine.js";

afterAll(removeTemporaryFolders);
